/**
 * The agents manager ("Agents…" in the palette and the sessions sidebar): the server's agents, a
 * form to create or change one (prompt with {{input}}, the session fields, a schedule, a webhook),
 * "Run now" with an input, and the webhook secret, shown once with a copy button. The server checks
 * every field; its message is shown as is.
 */
import * as React from 'react';
import { ActionMessage, TextField, useActions } from './forms';
import { AgentInfo, PERMISSION_MODES, RunInfo } from '../model/types';

export interface AgentsProps {
  load: () => Promise<{ agents: AgentInfo[]; backends: string[] }>;
  save: (body: Partial<AgentInfo>, id?: string) => Promise<AgentInfo>;
  remove: (id: string) => Promise<void>;
  run: (id: string, input: string) => Promise<RunInfo>;
  regenerate: (id: string) => Promise<{ webhook_secret: string; webhook_url: string }>;
  /** Show the runs (of one agent). */
  showRuns?: (agentId?: string) => void;
  /** Put a text on the clipboard. */
  copy?: (text: string) => void;
  /** Shown below the agents (the saved prompts). */
  children?: React.ReactNode;
}

export interface AgentDraft {
  id?: string;
  name: string;
  description: string;
  prompt: string;
  backend: string;
  model: string;
  permission_mode: string;
  cwd: string;
  branch: string;
  worktree: boolean;
  sandbox: string;
  sandbox_profile: string;
  env_profile: string;
  allowed_tools: string;
  cron: string;
  timezone: string;
  missed: 'run_once' | 'skip';
  webhook: boolean;
  overlap: 'skip' | 'allow';
  enabled: boolean;
}

export const EMPTY_AGENT: AgentDraft = {
  name: '', description: '', prompt: '', backend: '', model: '', permission_mode: 'default', cwd: '', branch: '',
  worktree: false, sandbox: '', sandbox_profile: '', env_profile: '', allowed_tools: '', cron: '',
  timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || '', missed: 'run_once', webhook: false,
  overlap: 'skip', enabled: true
};

/** A stored agent as the form's draft. */
export function agentDraftOf(agent: AgentInfo): AgentDraft {
  const schedule = agent.triggers?.schedule;
  return {
    id: agent.id, name: agent.name, description: agent.description ?? '', prompt: agent.prompt, backend: agent.backend,
    model: agent.model ?? '', permission_mode: agent.permission_mode ?? 'default', cwd: agent.cwd ?? '',
    branch: agent.branch ?? '', worktree: Boolean(agent.worktree), sandbox: agent.sandbox ?? '',
    sandbox_profile: agent.sandbox_profile ?? '', env_profile: agent.env_profile ?? '',
    allowed_tools: (agent.allowed_tools ?? []).join('\n'), cron: schedule?.cron ?? '', timezone: schedule?.timezone ?? '',
    missed: schedule?.missed ?? 'run_once', webhook: Boolean(agent.triggers?.webhook?.enabled), overlap: agent.overlap,
    enabled: agent.enabled
  };
}

/** The body of `POST`/`PUT agents` for a draft (empty fields left for the server's defaults). */
export function agentBodyOf(draft: AgentDraft): Partial<AgentInfo> {
  const triggers: AgentInfo['triggers'] = { webhook: { enabled: draft.webhook } };
  if (draft.cron.trim()) {
    triggers.schedule = { cron: draft.cron.trim(), timezone: draft.timezone.trim() || null, missed: draft.missed };
  }
  const text = (value: string) => value.trim() || null;
  return {
    name: draft.name.trim(), description: text(draft.description), prompt: draft.prompt, backend: draft.backend || undefined,
    model: text(draft.model), permission_mode: draft.permission_mode, cwd: text(draft.cwd), branch: text(draft.branch),
    worktree: draft.worktree, sandbox: text(draft.sandbox), sandbox_profile: text(draft.sandbox_profile),
    env_profile: text(draft.env_profile),
    allowed_tools: draft.allowed_tools.split('\n').map(t => t.trim()).filter(Boolean),
    triggers, overlap: draft.overlap, enabled: draft.enabled
  };
}

export function Agents(props: AgentsProps): JSX.Element {
  const [agents, setAgents] = React.useState<AgentInfo[] | null>(null);
  const [backends, setBackends] = React.useState<string[]>([]);
  const [draft, setDraft] = React.useState<AgentDraft>(EMPTY_AGENT);
  const [input, setInput] = React.useState('');
  const [secret, setSecret] = React.useState<{ secret: string; url: string } | null>(null);

  const reload = React.useCallback(async () => {
    try {
      const found = await props.load();
      setAgents(found.agents);
      setBackends(found.backends);
    } catch (err: any) {
      setMessage({ error: true, text: String(err?.message ?? err) });
      setAgents([]);
    }
  }, [props.load]);
  React.useEffect(() => {
    void reload();
  }, [reload]);

  const set = (field: keyof AgentDraft) => (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) => {
    const target = e.target as HTMLInputElement;
    setDraft({ ...draft, [field]: target.type === 'checkbox' ? target.checked : target.value });
  };
  const text = (key: keyof AgentDraft, label: string, options: { rows?: number; placeholder?: string } = {}) => (
    <TextField label={label} value={String(draft[key] ?? '')} onChange={set(key)} {...options} />
  );
  const check = (key: keyof AgentDraft, label: string) => (
    <label className="jp-Companion-check">
      <input type="checkbox" aria-label={label} checked={Boolean(draft[key])} onChange={set(key)} /> {label}
    </label>
  );
  const { busy, message, setMessage, act } = useActions(reload);
  const save = () =>
    act(async () => {
      const stored = await props.save(agentBodyOf(draft), draft.id);
      setDraft(agentDraftOf(stored));
      if (stored.webhook_secret) {
        setSecret({ secret: stored.webhook_secret, url: stored.webhook_url ?? '' });
      }
      return `Saved the agent ${stored.name}.`;
    });

  if (!agents) {
    return <div className="jp-Companion-agents jp-Companion-muted">Loading the agents…</div>;
  }
  const shown = agents.find(a => a.id === draft.id);
  return (
    <div className="jp-Companion-agents">
      <h2>Agents</h2>
      <ul className="jp-Companion-profileList" aria-label="Agents">
        {agents.map(a => (
          <li key={a.id}>
            <button type="button" className="jp-Companion-linkButton" onClick={() => { setDraft(agentDraftOf(a)); setSecret(null); }}>
              {a.name}
            </button>
            <span className="jp-Companion-muted">
              {' '}
              {a.backend} · {a.enabled ? (a.schedule_text ?? 'by hand') : `off${a.disabled_reason ? `: ${a.disabled_reason}` : ''}`}
              {a.enabled && a.next_run_at ? ` · next ${new Date(a.next_run_at).toLocaleString()}` : ''}
            </span>
            <button type="button" className="jp-mod-styled jp-mod-warn" aria-label={`Delete the agent ${a.name}`} disabled={busy}
              onClick={() => act(async () => { await props.remove(a.id); setDraft(EMPTY_AGENT); return `Deleted the agent ${a.name}.`; })}>
              Delete
            </button>
          </li>
        ))}
        {agents.length === 0 ? <li className="jp-Companion-muted">No agent yet: describe one below.</li> : null}
      </ul>
      {props.showRuns ? (
        <button type="button" className="jp-mod-styled" onClick={() => props.showRuns?.()}>All runs</button>
      ) : null}
      {draft.id ? (
        <div className="jp-Companion-agentRun">
          <label>
            <span>Input</span>
            <input className="jp-mod-styled" aria-label="Run input" value={input} onChange={e => setInput(e.target.value)} />
          </label>
          <button type="button" className="jp-mod-styled jp-mod-accept" disabled={busy}
            onClick={() => act(async () => { const run = await props.run(draft.id as string, input); props.showRuns?.(draft.id); return `Run ${run.id.slice(0, 8)}: ${run.status}${run.error ? ` (${run.error})` : ''}.`; })}>
            Run now
          </button>
          {props.showRuns ? <button type="button" className="jp-mod-styled" onClick={() => props.showRuns?.(draft.id)}>Runs</button> : null}
          {draft.webhook ? (
            <button type="button" className="jp-mod-styled" disabled={busy}
              onClick={() => act(async () => { const fresh = await props.regenerate(draft.id as string); setSecret({ secret: fresh.webhook_secret, url: fresh.webhook_url }); return 'A new webhook secret: the old one no longer works.'; })}>
              New webhook secret
            </button>
          ) : null}
        </div>
      ) : null}
      {secret ? (
        <div className="jp-Companion-secret" role="status" aria-label="Webhook secret">
          <p>Webhook of this agent — the secret is shown only now:</p>
          <code>{secret.url}</code>
          <code>{secret.secret}</code>
          {props.copy ? (
            <button type="button" className="jp-mod-styled" onClick={() => props.copy?.(secret.secret)}>Copy the secret</button>
          ) : null}
        </div>
      ) : null}
      <form className="jp-Companion-profileForm" aria-label="Agent" onSubmit={e => { e.preventDefault(); void save(); }}>
        {text('name', 'Name')}
        {text('description', 'Description')}
        {text('prompt', 'Prompt', { rows: 5, placeholder: 'What to do; {{input}} is replaced by the run’s input' })}
        <label>
          <span>Backend</span>
          <select className="jp-mod-styled" aria-label="Backend" value={draft.backend} onChange={set('backend')}>
            <option value="">the server’s default</option>
            {backends.map(b => <option key={b} value={b}>{b}</option>)}
          </select>
        </label>
        {text('model', 'Model', { placeholder: 'the backend’s default' })}
        <label>
          <span>Permission mode</span>
          <select className="jp-mod-styled" aria-label="Permission mode" value={draft.permission_mode} onChange={set('permission_mode')}>
            {PERMISSION_MODES.map(m => <option key={m} value={m}>{m}</option>)}
          </select>
        </label>
        {text('cwd', 'Folder', { placeholder: 'relative to the server root' })}
        {text('branch', 'Branch')}
        {check('worktree', 'Own worktree')}
        {text('sandbox', 'Sandbox', { placeholder: 'local' })}
        {text('sandbox_profile', 'Sandbox profile')}
        {text('env_profile', 'Env profile')}
        {text('allowed_tools', 'Allowed tools', { rows: 2, placeholder: 'one rule per line, e.g. Bash(git status:*)' })}
        {text('cron', 'Schedule (cron)', { placeholder: 'e.g. 0 7 * * 1-5 (minute hour day month weekday)' })}
        {text('timezone', 'Time zone', { placeholder: 'e.g. Europe/Berlin' })}
        <label>
          <span>Missed while the server was down</span>
          <select className="jp-mod-styled" aria-label="Missed runs" value={draft.missed} onChange={set('missed')}>
            <option value="run_once">run once</option>
            <option value="skip">skip</option>
          </select>
        </label>
        <label>
          <span>When the previous run still goes</span>
          <select className="jp-mod-styled" aria-label="Overlap" value={draft.overlap} onChange={set('overlap')}>
            <option value="skip">skip the new run</option>
            <option value="allow">run both</option>
          </select>
        </label>
        {check('webhook', 'Webhook')}
        {check('enabled', 'Enabled')}
        {shown?.schedule_text ? (
          <p className="jp-Companion-muted" role="note">
            {shown.schedule_text}; next: {(shown.next_runs ?? []).map(t => new Date(t).toLocaleString()).join(', ') || '—'}
          </p>
        ) : null}
        <div className="jp-Companion-formActions">
          <button type="button" className="jp-mod-styled" onClick={() => { setDraft(EMPTY_AGENT); setSecret(null); }}>New</button>
          <button type="submit" className="jp-mod-styled jp-mod-accept" disabled={busy || !draft.name.trim() || !draft.prompt.trim()}>
            Save agent
          </button>
        </div>
      </form>
      <ActionMessage message={message} />
      {props.children}
    </div>
  );
}
