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
  AssistantItem,
  CONTROL_COMMANDS,
  ChatState,
  CommandStatus,
  UserItem
} from './chatState';
import { trackProgress } from './progress';
import { asNumber, asString } from './values';
import { CompanionEvent, ContentBlock, PermissionRequest, Phase, SessionInfo } from './types';

/** Local actions that are not server events. */
export type LocalAction =
  | { type: 'local_user_message'; content: string; client_msg_id: string; images?: UserItem['images']; queued?: boolean }
  | { type: 'local_command'; command: string; client_msg_id: string; request_id?: string }
  | { type: 'local_drop'; client_msg_id: string }
  | { type: 'reset' };

const LOCAL_TYPES = new Set(['local_user_message', 'local_command', 'local_drop', 'reset']);

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
    controlError: null,
    waitingSince: null,
    modelTrouble: null
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
  trackProgress(draft, ev);
  switch (ev.type) {
    case 'ack': {
      const id = asString(ev.client_msg_id);
      if (id) {
        settleCommand(draft, id, { status: 'delivered', duplicate: ev.duplicate === true });
        if (ev.queued === true) {
          draft.items = draft.items.map(it =>
            it.kind === 'user' && it.local && it.clientMsgId === id ? { ...it, queued: true } : it
          );
        }
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
      if (Array.isArray(ev.held_requests)) {
        // the server stopped while these waited: they stay answerable (held over the restart)
        for (const id of ev.held_requests) {
          const request = typeof id === 'string' ? draft.pending[id] : undefined;
          if (request) {
            draft.pending[id as string] = { ...request, held: true };
          }
        }
      }
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
      if (Array.isArray(fields.queued_messages)) {
        // a local echo the server now lists as waiting is shown from that list
        const listed = new Set(fields.queued_messages.map(q => (q as { client_msg_id?: unknown }).client_msg_id));
        draft.items = draft.items.filter(it => !(it.kind === 'user' && it.local && listed.has(it.clientMsgId)));
      }
      return;
    }
    case 'notice':
      if (ev.code !== 'model_retrying') {  // that one shows with the working indicator
        draft.items.push({
          kind: 'notice',
          key: `n-${seq}`,
          seq,
          level: asString(ev.level) ?? 'info',
          code: asString(ev.code),
          message: asString(ev.message) ?? asString(ev.code) ?? 'notice'
        });
      }
      return;
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
    local: true,
    queued: action.queued === true
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

