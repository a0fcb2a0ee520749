/**
 * The sessions feed (`companion/ws/sessions`): one socket that keeps the
 * sidebar's list live for every session, open in a tab or not.
 *
 * The server sends `{type: "sessions", sessions}` on connect, then
 * `{type: "session_changed", session}` with the whole session object of each
 * session whose list-visible state changed (coalesced), and
 * `{type: "session_removed", session_id}` when one is deleted.
 */
import { CompanionEvent, SessionInfo } from './types';

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
