/**
 * The sessions feed (`companion/ws/sessions`): one socket that keeps the
 * sidebar's list live for every session, open in a tab or not.
 *
 * The server sends `{type: "sessions", sessions}` on connect, then
 * `{type: "session_changed", session}` with the whole session object of each
 * session whose list-visible state changed (coalesced), and
 * `{type: "session_removed", session_id}` when one is deleted.
 */
import { CompanionEvent, PermissionRequest, SessionInfo } from './types';

/** A feed frame applied to the list; frames of other types leave it as it is. */
export function applyFeedFrame(sessions: SessionInfo[] | null, frame: CompanionEvent): SessionInfo[] | null {
  if (frame.type === 'sessions' && Array.isArray(frame.sessions)) {
    return frame.sessions as SessionInfo[];
  }
  const changed = frame.session as SessionInfo | undefined;
  if (frame.type === 'session_changed' && changed && typeof changed.id === 'string') {
    const list = sessions ?? [];
    const index = list.findIndex(s => s.id === changed.id);
    if (index < 0) {
      return [...list, changed];
    }
    if ((list[index].last_seq ?? 0) > (changed.last_seq ?? 0)) {
      return list; // a newer answer (a poll or an action) already arrived
    }
    const next = list.slice();
    next[index] = changed;
    return next;
  }
  if (frame.type === 'session_removed' && typeof frame.session_id === 'string') {
    return sessions ? sessions.filter(s => s.id !== frame.session_id) : sessions;
  }
  return sessions;
}

/** What changed in a session's pending permission requests between two copies of it. */
export interface Attention {
  /** Requests that were not pending before. */
  asked: PermissionRequest[];
  /** Ids of requests that are no longer pending. */
  settled: string[];
  /** A turn ended since the old copy (`num_turns` grew). */
  turnEnded: boolean;
}

/** What needs the user's attention between the old and new copy of a session. */
export function attentionChange(before: SessionInfo | undefined, after: SessionInfo | undefined): Attention {
  const old = new Map((before?.pending_permissions ?? []).map(p => [p.request_id, p]));
  const now = new Map((after?.pending_permissions ?? []).map(p => [p.request_id, p]));
  const turns = (s: SessionInfo | undefined) => Number(s?.num_turns ?? 0) || 0;
  return {
    asked: [...now.values()].filter(p => !old.has(p.request_id)),
    settled: [...old.keys()].filter(id => !now.has(id)),
    turnEnded: before !== undefined && after !== undefined && turns(after) > turns(before)
  };
}
