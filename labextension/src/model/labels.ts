/**
 * Words for the values the API uses as identifiers: phases, permission modes and the model
 * choice. The panel shows these, never the raw names.
 */

/** What a session is doing, in a word or two. */
export const PHASE_LABELS: Record<string, string> = {
  starting: 'Starting',
  initializing: 'Starting',
  ready: 'Ready',
  streaming: 'Working',
  awaiting_permission: 'Waiting for you',
  compacting: 'Compacting',
  terminated: 'Not running'
};

/** A phase in words (an unknown one as it is). */
export function phaseLabel(phase: string | null | undefined): string {
  return (phase && PHASE_LABELS[phase]) || phase || 'Unknown';
}

/** The permission modes: a short label and what each lets the agent do. */
export const PERMISSION_MODE_INFO: Record<string, { label: string; description: string }> = {
  default: { label: 'Ask first', description: 'The agent asks before it edits files or runs commands.' },
  acceptEdits: { label: 'Accept edits', description: 'File edits are accepted; commands still need your approval.' },
  plan: { label: 'Plan only', description: 'The agent reads and proposes a plan; it changes nothing until you approve.' },
  bypassPermissions: {
    label: "Don't ask",
    description: 'The agent edits and runs everything without asking. Only in a sandbox you trust.'
  }
};

/** A permission mode's label (an unknown one as it is). */
export function modeLabel(mode: string): string {
  return PERMISSION_MODE_INFO[mode]?.label ?? mode;
}

/** A permission mode's description ('' when unknown). */
export function modeDescription(mode: string): string {
  return PERMISSION_MODE_INFO[mode]?.description ?? '';
}

/** The value that stands for "the CLI's own default model" in a model menu. */
export const DEFAULT_MODEL = '';
const DEFAULT_MODEL_LABEL = "Default (the CLI's choice)";

/**
 * The entries of a model menu: the CLI's default first and once (a backend's own `default`
 * entry stands for it), then the backend's models, then `current` when the list lacks it (a model
 * the CLI reported, or one chosen elsewhere).
 */
export function modelMenu(
  models: { id: string; label: string }[],
  current: string | null | undefined
): { value: string; label: string }[] {
  const own = models.find(m => m.id === 'default');
  const menu = [{ value: DEFAULT_MODEL, label: own?.label || DEFAULT_MODEL_LABEL }];
  for (const m of models) {
    if (m.id !== 'default') {
      menu.push({ value: m.id, label: m.label || m.id });
    }
  }
  if (current && current !== 'default' && !menu.some(m => m.value === current)) {
    menu.splice(1, 0, { value: current, label: current });
  }
  return menu;
}

/** The menu value of a session's model (`default` and none are the CLI's default). */
export function modelValue(model: string | null | undefined): string {
  return !model || model === 'default' ? DEFAULT_MODEL : model;
}

/** How long ago an ISO time was, in words ("5 min ago"); empty when unknown. */
export function timeAgo(iso: string | null | undefined, now = Date.now()): string {
  const then = iso ? Date.parse(iso) : NaN;
  if (Number.isNaN(then)) {
    return '';
  }
  const minutes = Math.max(0, Math.round((now - then) / 60000));
  if (minutes < 1) {
    return 'just now';
  }
  if (minutes < 60) {
    return `${minutes} min ago`;
  }
  const hours = Math.round(minutes / 60);
  if (hours < 48) {
    return `${hours} h ago`;
  }
  return `${Math.round(hours / 24)} days ago`;
}

/** Where a session works, in short: its folder's name. */
function folderName(path: string): string {
  const parts = path.replace(/\/+$/, '').split('/');
  return parts[parts.length - 1] || '/';
}

/**
 * The entries of a "pick a session" list, most recently active first, each labelled with what a
 * person recognises -- name, backend, folder, when it was last active -- and never its id.
 */
export function sessionChoices<S extends { id: string; name: string; backend: string; cwd: string; last_activity_at?: unknown; created_at?: unknown }>(
  sessions: S[],
  now = Date.now()
): { label: string; session: S }[] {
  const when = (s: S): string => {
    const value = s.last_activity_at ?? s.created_at;
    if (typeof value === 'number') {
      return new Date(value * 1000).toISOString();
    }
    return typeof value === 'string' ? value : '';
  };
  const sorted = sessions.slice().sort((a, b) => (Date.parse(when(b)) || 0) - (Date.parse(when(a)) || 0));
  const seen = new Map<string, number>();
  return sorted.map(session => {
    const ago = timeAgo(when(session), now);
    let label = `${session.name} — ${session.backend} · ${folderName(session.cwd)}${ago ? ` · ${ago}` : ''}`;
    const n = (seen.get(label) ?? 0) + 1;
    seen.set(label, n);
    if (n > 1) {
      label = `${label} (${n})`;
    }
    return { label, session };
  });
}

/** Format a cost in dollars. */
export function formatCost(cost: number | null | undefined): string {
  if (cost === null || cost === undefined) {
    return '';
  }
  return cost < 0.01 && cost > 0 ? `$${cost.toFixed(4)}` : `$${cost.toFixed(2)}`;
}

/** The status dot class of a phase. */
export function phaseClass(phase: string | undefined): string {
  switch (phase) {
    case 'streaming':
    case 'compacting':
      return 'jp-mod-busy';
    case 'awaiting_permission':
      return 'jp-mod-waiting';
    case 'ready':
      return 'jp-mod-ready';
    case 'terminated':
      return 'jp-mod-off';
    default:
      return 'jp-mod-starting';
  }
}
