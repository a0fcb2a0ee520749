/**
 * What the views derive from a chat state: totals, pending requests, turns, subagent
 * messages, whether the agent is busy and which error can be retried.
 */
import {
  AssistantItem,
  ChatState,
  ResultItem,
  TranscriptItem,
  UserItem
} from './chatState';
import { PermissionRequest } from './types';

/**
 * The session's total cost: the server adds each turn's `result.cost_usd` up over every CLI
 * process and sends it as `session_update {cost_usd, usage, num_turns}` after every result.
 */
export function sessionCost(state: ChatState): number | null {
  const cost = state.session.cost_usd;
  return typeof cost === 'number' ? cost : null;
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

/** What the working indicator shows: since when the agent works without streaming, and why it may be stuck. */
export interface WorkingStatus {
  since: number;
  trouble: ChatState['modelTrouble'];
}

/**
 * The working indicator of a running turn: shown while the agent works and no text streams
 * (waiting for the first token, a tool running, the CLI retrying its model); null otherwise.
 */
export function workingStatus(state: ChatState): WorkingStatus | null {
  if (state.phase !== 'streaming' || state.streaming !== null || state.waitingSince === null) {
    return null;
  }
  return { since: state.waitingSince, trouble: state.modelTrouble };
}

/** A prompt waiting for the running turn to end, as the chat shows it. */
export interface QueuedPrompt {
  key: string;
  content: string;
  /** The server's id (withdraw it with `cancel_queued`); absent while only the local echo exists. */
  id?: string;
}

/** The prompts that wait for the running turn: the server's list, then echoes it has not listed yet. */
export function queuedPrompts(state: ChatState): QueuedPrompt[] {
  const server = Array.isArray(state.session.queued_messages) ? state.session.queued_messages : [];
  const out: QueuedPrompt[] = server.map(q => ({ key: `q-${q.id}`, content: String(q.content ?? ''), id: q.id }));
  const listed = new Set(server.map(q => q.client_msg_id));
  for (const item of state.items) {
    if (item.kind === 'user' && item.local && item.queued && !listed.has(item.clientMsgId)) {
      out.push({ key: item.key, content: item.content });
    }
  }
  return out;
}

/** True for a local echo that waits for the running turn (shown below the answer, not in the transcript). */
export function isQueuedEcho(item: TranscriptItem): boolean {
  return item.kind === 'user' && item.local === true && item.queued === true;
}
