/**
 * Live session data for the sessions sidebar.
 *
 * The sidebar polls `GET sessions` only as a slow fallback. Every session
 * open in a chat tab already has a WebSocket, and its reducer state holds the
 * session object as the events keep it (`session_update`, `phase`,
 * `permission_request` / `permission_resolved`, `result`). Those live fields
 * replace the polled ones as long as the socket is connected and has seen at
 * least as many events as the poll.
 */
import { ChatState } from './chatState';
import { pendingList } from './selectors';
import { SessionInfo } from './types';

/** What a connected chat tab knows about its session right now. */
export type LiveSession = Partial<SessionInfo> & { last_seq: number };

/** The session object as the chat's events left it. */
export function liveFields(state: ChatState): LiveSession {
  return {
    ...(state.session as Partial<SessionInfo>),
    phase: state.phase,
    pending_permissions: pendingList(state),
    last_seq: state.lastSeq
  };
}

/** A short signature of what the sidebar shows, to skip re-renders that change nothing. */
export function liveSignature(live: LiveSession | null): string {
  if (!live) {
    return '';
  }
  return JSON.stringify([
    live.phase,
    (live.pending_permissions ?? []).map(p => p.request_id),
    live.name,
    live.model,
    live.permission_mode,
    live.cost_usd,
    live.archived,
    live.git?.branch ?? null
  ]);
}

/**
 * The polled sessions with the live fields of connected chats applied.
 * Live data wins unless the poll is newer (a higher `last_seq`).
 */
export function mergeLive(sessions: SessionInfo[], live: ReadonlyMap<string, LiveSession>): SessionInfo[] {
  if (live.size === 0) {
    return sessions;
  }
  return sessions.map(session => {
    const fields = live.get(session.id);
    if (!fields || (session.last_seq ?? 0) > fields.last_seq) {
      return session;
    }
    return { ...session, ...fields, id: session.id };
  });
}
