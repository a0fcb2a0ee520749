/**
 * The pure event reducer of a chat view.
 *
 * It folds the events of one session (API.md "Event types") into what the
 * chat renders: a transcript of items, the results of tool calls, pending
 * permission requests, the phase, the live streaming draft and per-turn
 * statistics. It has no DOM or network dependency so it is unit tested.
 *
 * Rules:
 * - stored events (numeric `seq`) at or below `lastSeq` are duplicates and ignored;
 * - `stream_delta` frames (`seq: null`) accumulate into `streaming` and are
 *   dropped as soon as the final `assistant` message (or the turn's `result`)
 *   arrives; a `snapshot` delta (what was streamed before this client
 *   connected) replaces the draft instead;
 * - several `assistant` events with the same message id (Claude emits one per
 *   content block) are merged into one transcript item;
 * - a local user message (optimistic echo) is replaced by the stored
 *   `user_message` that carries the same `client_msg_id`;
 * - commands sent from this view are tracked by `client_msg_id`: an `ack`
 *   frame marks one delivered, an error frame carrying its id marks it failed
 *   (the view shows the error next to the message, banner or switcher);
 * - frames that are not objects, have no string `type` or a type this code
 *   does not know never throw: transient ones are ignored, stored ones become
 *   a one-line notice (and still advance `lastSeq`).
 */
import {
  CompanionEvent,
  ContentBlock,
  PermissionRequest,
  Phase,
  SessionInfo
} from './types';

/** A user's prompt in the transcript. */
export interface UserItem {
  kind: 'user';
  key: string;
  seq: number | null;
  content: string;
  images?: { media_type: string; data: string }[];
  clientMsgId?: string;
  /** True while only the local echo exists (not yet stored by the server). */
  local?: boolean;
}

/** One assistant message (possibly merged from several events). */
export interface AssistantItem {
  kind: 'assistant';
  key: string;
  seq: number;
  messageId: string;
  model?: string;
  blocks: ContentBlock[];
  parentToolUseId?: string | null;
  /** What the agent had written when its CLI died mid-answer (kept by the server). */
  incomplete?: boolean;
}

/** The end of a turn, with its cost and usage. */
export interface ResultItem {
  kind: 'result';
  key: string;
  seq: number;
  isError: boolean;
  /** The user stopped the turn (not a failure). */
  interrupted: boolean;
  durationMs?: number;
  numTurns?: number;
  costUsd?: number;
  usage?: Record<string, unknown>;
  text?: string;
}

/** An error reported by the server or the CLI. */
export interface ErrorItem {
  kind: 'error';
  key: string;
  seq: number | null;
  message: string;
  code?: string;
  /** The CLI died mid-answer: the last prompt can be sent again (`retry` command). */
  retry?: boolean;
}

/** Any other stored event, rendered as a one-line notice. */
export interface SystemItem {
  kind: 'system';
  key: string;
  seq: number;
  text: string;
}

export type TranscriptItem = UserItem | AssistantItem | ResultItem | ErrorItem | SystemItem;

/** The result of one tool call, keyed by its tool_use id. */
export interface ToolResult {
  content: unknown;
  isError: boolean;
  seq: number;
}

/** How a permission request ended. */
export interface PermissionResolution {
  behavior: string;
  by: string;
  toolUseId?: string | null;
  toolName?: string;
}

/** Information from `session_init`. */
export interface InitInfo {
  model?: string;
  cwd?: string;
  tools?: string[];
  permissionMode?: string;
  slashCommands?: string[];
  skills?: string[];
  backendVersion?: string;
}

/** The live streaming draft (transient deltas). */
export interface StreamingDraft {
  text: string;
  thinking: string;
  messageId?: string;
}

/** Delivery state of one command sent from this view (by client_msg_id). */
export interface CommandStatus {
  /** The command type (`user_message`, `permission_response`, `set_model`, ...). */
  type: string;
  status: 'sending' | 'delivered' | 'failed';
  /** The server had already seen this id (ack with `duplicate: true`). */
  duplicate?: boolean;
  error?: string;
  /** For a permission_response: the request it answers. */
  requestId?: string;
}

/** The commands that change the session's settings or flow (shown near the switchers). */
export const CONTROL_COMMANDS = ['set_model', 'set_permission_mode', 'interrupt'];

/** The latest failure of a control command. */
export interface ControlError {
  clientMsgId: string;
  type: string;
  message: string;
}

/** Everything a chat view renders, derived from events only. */
export interface ChatState {
  lastSeq: number;
  items: TranscriptItem[];
  toolResults: Record<string, ToolResult>;
  /** Pending permission requests by request id, in arrival order. */
  pending: Record<string, PermissionRequest>;
  pendingOrder: string[];
  resolved: Record<string, PermissionResolution>;
  phase: Phase;
  init: InitInfo | null;
  /** The merged `session_update` fields (name, model, permission_mode, git, ...). */
  session: Partial<SessionInfo>;
  streaming: StreamingDraft | null;
  /** The last transient error frame (e.g. a malformed command), not stored. */
  transientError: string | null;
  /** Commands sent from this view, by client_msg_id. */
  commands: Record<string, CommandStatus>;
  /** The latest failed set_model / set_permission_mode / interrupt, until the next one is sent. */
  controlError: ControlError | null;
}

/** Local actions that are not server events. */
export type LocalAction =
  | { type: 'local_user_message'; content: string; client_msg_id: string; images?: UserItem['images'] }
  | { type: 'local_command'; command: string; client_msg_id: string; request_id?: string }
  | { type: 'local_drop'; client_msg_id: string }
  | { type: 'reset' };

const LOCAL_TYPES = new Set(['local_user_message', 'local_command', 'local_drop', 'reset']);

/**
 * The session's total cost: the server adds each turn's `result.cost_usd` up over every CLI
 * process and sends it as `session_update {cost_usd, usage, num_turns}` after every result.
 */
export function sessionCost(state: ChatState): number | null {
  const cost = state.session.cost_usd;
  return typeof cost === 'number' ? cost : null;
}

/** A fresh state, optionally seeded with a session object's fields. */
export function initialState(session?: Partial<SessionInfo>): ChatState {
  return {
    lastSeq: 0,
    items: [],
    toolResults: {},
    pending: {},
    pendingOrder: [],
    resolved: {},
    phase: (session?.phase as Phase) ?? 'starting',
    init: null,
    session: session ? { ...session } : {},
    streaming: null,
    transientError: null,
    commands: {},
    controlError: null
  };
}

function clone(state: ChatState): ChatState {
  return {
    ...state,
    items: state.items.slice(),
    toolResults: { ...state.toolResults },
    pending: { ...state.pending },
    pendingOrder: state.pendingOrder.slice(),
    resolved: { ...state.resolved },
    session: { ...state.session },
    commands: { ...state.commands }
  };
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function sameBlock(a: ContentBlock, b: ContentBlock): boolean {
  if (a.type !== b.type) {
    return false;
  }
  if (a.type === 'tool_use') {
    return (a as { id?: unknown }).id === (b as { id?: unknown }).id;
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

function removePending(draft: ChatState, requestId: string): PermissionRequest | undefined {
  const request = draft.pending[requestId];
  if (request) {
    delete draft.pending[requestId];
    draft.pendingOrder = draft.pendingOrder.filter(id => id !== requestId);
  }
  return request;
}

function findAssistant(draft: ChatState, messageId: string): number {
  // Blocks of one message arrive next to each other; look back a little only.
  for (let i = draft.items.length - 1, n = 0; i >= 0 && n < 50; i--, n++) {
    const item = draft.items[i];
    if (item.kind === 'assistant' && item.messageId === messageId) {
      return i;
    }
    if (item.kind === 'user' || item.kind === 'result') {
      break;
    }
  }
  return -1;
}

function applyAssistant(draft: ChatState, ev: CompanionEvent, seq: number): void {
  const message = (ev.message ?? {}) as { id?: unknown; model?: unknown; content?: unknown };
  const blocks = Array.isArray(message.content) ? (message.content as ContentBlock[]) : [];
  const messageId = asString(message.id) ?? `seq-${seq}`;
  const parent = asString(ev.parent_tool_use_id) ?? null;
  const index = findAssistant(draft, messageId);
  if (index >= 0) {
    const existing = draft.items[index] as AssistantItem;
    const merged = existing.blocks.slice();
    for (const block of blocks) {
      if (!merged.some(b => sameBlock(b, block))) {
        merged.push(block);
      }
    }
    draft.items[index] = { ...existing, blocks: merged, incomplete: existing.incomplete || ev.incomplete === true };
  } else {
    draft.items.push({
      kind: 'assistant',
      key: `a-${seq}`,
      seq,
      messageId,
      model: asString(message.model),
      blocks: blocks.slice(),
      parentToolUseId: parent,
      incomplete: ev.incomplete === true
    });
  }
  // The final message supersedes the live draft (subagent messages do not).
  if (!parent) {
    draft.streaming = null;
  }
}

function applyUser(draft: ChatState, ev: CompanionEvent, seq: number): void {
  const clientMsgId = asString(ev.client_msg_id);
  const item: UserItem = {
    kind: 'user',
    key: `u-${seq}`,
    seq,
    content: asString(ev.content) ?? '',
    images: Array.isArray(ev.images) ? (ev.images as UserItem['images']) : undefined,
    clientMsgId
  };
  if (clientMsgId) {
    const local = draft.items.findIndex(
      it => it.kind === 'user' && it.local === true && it.clientMsgId === clientMsgId
    );
    if (local >= 0) {
      draft.items.splice(local, 1);
    }
  }
  draft.items.push(item);
}

function describeSystem(ev: CompanionEvent): string {
  const subtype = asString(ev.subtype);
  const message = asString(ev.message) ?? asString(ev.text);
  const label = subtype ? `${ev.type}: ${subtype}` : ev.type;
  return message ? `${label} — ${message}` : label;
}

/** Mark a tracked command as answered by the server. */
function settleCommand(draft: ChatState, id: string, patch: Partial<CommandStatus>): boolean {
  const known = draft.commands[id];
  if (!known) {
    return false;
  }
  draft.commands[id] = { ...known, ...patch };
  return true;
}

/** Apply one stored or transient event to a mutable draft. */
function applyEvent(draft: ChatState, ev: CompanionEvent): void {
  if (!ev || typeof ev !== 'object') {
    return;
  }
  const seq = typeof ev.seq === 'number' && Number.isFinite(ev.seq) ? ev.seq : null;
  if (seq !== null) {
    if (seq <= draft.lastSeq) {
      return; // duplicate (replay overlap or resent frame)
    }
    draft.lastSeq = seq;
  }
  if (typeof ev.type !== 'string') {
    if (seq !== null) {
      draft.items.push({ kind: 'system', key: `s-${seq}`, seq, text: 'unknown event' });
    }
    return;
  }
  switch (ev.type) {
    case 'ack': {
      const id = asString(ev.client_msg_id);
      if (id) {
        settleCommand(draft, id, { status: 'delivered', duplicate: ev.duplicate === true });
      }
      return;
    }
    case 'stream_delta': {
      const text = asString(ev.text) ?? '';
      const current = draft.streaming ?? { text: '', thinking: '' };
      const messageId = asString(ev.message_id) ?? current.messageId;
      // a snapshot (sent on (re)connect) is everything streamed so far: it replaces, not appends
      const snapshot = ev.snapshot === true;
      draft.streaming =
        ev.kind === 'thinking'
          ? { ...current, thinking: (snapshot ? '' : current.thinking) + text, messageId }
          : { ...current, text: (snapshot ? '' : current.text) + text, messageId };
      return;
    }
    case 'error': {
      const message = asString(ev.message) ?? 'error';
      if (seq === null) {
        const id = asString(ev.client_msg_id);
        if (id && settleCommand(draft, id, { status: 'failed', error: message })) {
          const command = draft.commands[id];
          if (CONTROL_COMMANDS.includes(command.type)) {
            draft.controlError = { clientMsgId: id, type: command.type, message };
          }
          return;
        }
        draft.transientError = message;
        return;
      }
      draft.items.push({ kind: 'error', key: `e-${seq}`, seq, message, code: asString(ev.code), retry: ev.retry === true });
      return;
    }
  }
  if (seq === null) {
    return; // other transient frames carry no transcript content
  }
  switch (ev.type) {
    case 'session_init':
      draft.init = {
        model: asString(ev.model),
        cwd: asString(ev.cwd),
        tools: Array.isArray(ev.tools) ? (ev.tools as string[]) : undefined,
        permissionMode: asString(ev.permission_mode),
        slashCommands: Array.isArray(ev.slash_commands) ? (ev.slash_commands as string[]) : undefined,
        skills: Array.isArray(ev.skills) ? (ev.skills as string[]) : undefined,
        backendVersion: asString(ev.backend_version)
      };
      if (draft.init.model) {
        draft.session.model = draft.init.model;
      }
      if (draft.init.permissionMode) {
        draft.session.permission_mode = draft.init.permissionMode;
      }
      return;
    case 'phase': {
      const phase = asString(ev.phase);
      if (phase) {
        draft.phase = phase;
        draft.session.phase = phase;
        if (phase === 'terminated' || phase === 'ready') {
          draft.streaming = null;
        }
      }
      return;
    }
    case 'user_message':
      applyUser(draft, ev, seq);
      return;
    case 'assistant':
      applyAssistant(draft, ev, seq);
      return;
    case 'tool_result': {
      const id = asString(ev.tool_use_id);
      if (id) {
        draft.toolResults[id] = { content: ev.content, isError: ev.is_error === true, seq };
      }
      return;
    }
    case 'permission_request': {
      const requestId = asString(ev.request_id);
      if (!requestId || draft.resolved[requestId]) {
        return;
      }
      const { seq: _s, type: _t, ts: _ts, session_id: _sid, ...rest } = ev;
      void _s;
      void _t;
      void _ts;
      void _sid;
      if (!draft.pending[requestId]) {
        draft.pendingOrder.push(requestId);
      }
      draft.pending[requestId] = {
        ...(rest as Record<string, unknown>),
        request_id: requestId,
        tool_name: asString(ev.tool_name) ?? 'tool',
        input: (ev.input as Record<string, unknown>) ?? {},
        seq
      };
      return;
    }
    case 'permission_resolved': {
      const requestId = asString(ev.request_id);
      if (!requestId) {
        return;
      }
      const request = removePending(draft, requestId);
      draft.resolved[requestId] = {
        behavior: asString(ev.behavior) ?? 'deny',
        by: asString(ev.by) ?? 'user',
        toolUseId: request?.tool_use_id ?? null,
        toolName: request?.tool_name
      };
      return;
    }
    case 'result': {
      const costUsd = asNumber(ev.cost_usd);
      draft.items.push({
        kind: 'result',
        key: `r-${seq}`,
        seq,
        isError: ev.is_error === true,
        interrupted: ev.interrupted === true,
        durationMs: asNumber(ev.duration_ms),
        numTurns: asNumber(ev.num_turns),
        costUsd,
        usage: (ev.usage as Record<string, unknown>) ?? undefined,
        text: asString(ev.text)
      });
      draft.streaming = null;
      return;
    }
    case 'session_update': {
      const { seq: _s, type: _t, ts: _ts, session_id: _sid, ...fields } = ev;
      void _s;
      void _t;
      void _ts;
      void _sid;
      Object.assign(draft.session, fields);
      if (typeof fields.phase === 'string') {
        draft.phase = fields.phase;
      }
      if (Array.isArray(fields.pending_permissions)) {
        syncPending(draft, fields.pending_permissions as PermissionRequest[]);
      }
      return;
    }
    default:
      draft.items.push({ kind: 'system', key: `s-${seq}`, seq, text: describeSystem(ev) });
  }
}

function syncPending(draft: ChatState, requests: PermissionRequest[]): void {
  const ids = new Set(requests.map(r => r.request_id));
  for (const id of draft.pendingOrder.slice()) {
    if (!ids.has(id)) {
      removePending(draft, id);
    }
  }
  for (const request of requests) {
    if (!draft.pending[request.request_id]) {
      draft.pendingOrder.push(request.request_id);
    }
    draft.pending[request.request_id] = request;
  }
}

/** Keep the command table bounded: forget the oldest delivered commands. */
export const MAX_TRACKED_COMMANDS = 500;

function pruneCommands(draft: ChatState): void {
  const ids = Object.keys(draft.commands);
  let excess = ids.length - MAX_TRACKED_COMMANDS + 1;
  for (const id of ids) {
    if (excess <= 0) {
      break;
    }
    if (draft.commands[id].status !== 'sending') {
      delete draft.commands[id];
      excess--;
    }
  }
}

function applyLocal(draft: ChatState, action: LocalAction): ChatState {
  if (action.type === 'reset') {
    return initialState(draft.session);
  }
  if (action.type === 'local_drop') {
    // Forget a failed local echo (the user retries it under a new id).
    draft.items = draft.items.filter(
      it => !(it.kind === 'user' && it.local === true && it.clientMsgId === action.client_msg_id)
    );
    delete draft.commands[action.client_msg_id];
    return draft;
  }
  pruneCommands(draft);
  if (action.type === 'local_command') {
    draft.commands[action.client_msg_id] = {
      type: action.command,
      status: 'sending',
      requestId: action.request_id
    };
    if (CONTROL_COMMANDS.includes(action.command)) {
      draft.controlError = null;
    }
    return draft;
  }
  draft.commands[action.client_msg_id] = { type: 'user_message', status: 'sending' };
  draft.items.push({
    kind: 'user',
    key: `local-${action.client_msg_id}`,
    seq: null,
    content: action.content,
    images: action.images,
    clientMsgId: action.client_msg_id,
    local: true
  });
  return draft;
}

function isLocal(action: CompanionEvent | LocalAction): action is LocalAction {
  return LOCAL_TYPES.has(action.type as string);
}

/** Fold one event (or local action) into a new state; the input is not modified. */
export function reduce(state: ChatState, action: CompanionEvent | LocalAction): ChatState {
  if (!action || typeof action !== 'object') {
    return state; // not a frame at all
  }
  if (!isLocal(action)) {
    const seq = (action as CompanionEvent).seq;
    if (typeof seq === 'number' && seq <= state.lastSeq) {
      return state; // duplicate: keep identity so views do not re-render
    }
  }
  const draft = clone(state);
  if (isLocal(action)) {
    return applyLocal(draft, action);
  }
  applyEvent(draft, action);
  return draft;
}

/** Fold many events at once (history replay) with a single copy of the state. */
export function reduceAll(state: ChatState, events: CompanionEvent[]): ChatState {
  if (events.length === 0) {
    return state;
  }
  const draft = clone(state);
  for (const ev of events) {
    applyEvent(draft, ev);
  }
  return draft;
}

/** The pending requests in arrival order. */
export function pendingList(state: ChatState): PermissionRequest[] {
  return state.pendingOrder.map(id => state.pending[id]).filter(Boolean);
}

/** One user turn: its prompt, the items that followed and its closing result. */
export interface Turn {
  user: UserItem | null;
  items: TranscriptItem[];
  result: ResultItem | null;
}

/** Split the transcript into turns (each starts at a user message). */
export function turnsOf(items: TranscriptItem[]): Turn[] {
  const turns: Turn[] = [];
  let current: Turn | null = null;
  for (const item of items) {
    if (item.kind === 'user' || current === null) {
      current = { user: item.kind === 'user' ? item : null, items: [], result: null };
      turns.push(current);
      if (item.kind === 'user') {
        continue;
      }
    }
    if (item.kind === 'result') {
      current.result = item;
    }
    current.items.push(item);
  }
  return turns;
}

/** Subagent messages grouped by the Task tool_use id that spawned them. */
export function childrenByParent(items: TranscriptItem[]): Record<string, AssistantItem[]> {
  const out: Record<string, AssistantItem[]> = {};
  for (const item of items) {
    if (item.kind === 'assistant' && item.parentToolUseId) {
      (out[item.parentToolUseId] ??= []).push(item);
    }
  }
  return out;
}

/** True when the session is in the middle of a turn (the interrupt button shows). */
export function isBusy(state: ChatState): boolean {
  return (
    state.phase === 'streaming' ||
    state.phase === 'awaiting_permission' ||
    state.phase === 'compacting' ||
    state.streaming !== null
  );
}

/**
 * The seq of the error whose prompt can be sent again: the latest error with `retry` after the
 * latest prompt (null when a newer prompt was sent since, or there is none).
 */
export function retryableError(state: ChatState): number | null {
  for (let i = state.items.length - 1; i >= 0; i--) {
    const item = state.items[i];
    if (item.kind === 'user') {
      return null;
    }
    if (item.kind === 'error' && item.retry && item.seq !== null) {
      return item.seq;
    }
  }
  return null;
}
