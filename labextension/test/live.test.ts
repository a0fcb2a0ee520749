/** Live sidebar data from open chats, slash-command sources and the settings resolution. */
import { describe, expect, it } from 'vitest';
import { describeControlError, slashCommandsOf } from '../src/components/ChatView';
import { initialState, reduceAll } from '../src/model/reducer';
import { resolveSettings } from '../src/model/settings';
import { liveFields, liveSignature, mergeLive } from '../src/model/sessionsLive';
import { applyFeedFrame, attentionChange } from '../src/model/sessionsFeed';
import { SessionInfo } from '../src/model/types';

function session(id: string, extra: Partial<SessionInfo> = {}): SessionInfo {
  return { id, name: id, backend: 'claude', cwd: '/w', phase: 'ready', archived: false, pending_permissions: [], last_seq: 3, ...extra };
}

describe('live sessions for the sidebar', () => {
  const state = reduceAll(initialState(session('a')), [
    { seq: 4, type: 'phase', phase: 'awaiting_permission' },
    { seq: 5, type: 'permission_request', request_id: 'r1', tool_name: 'Bash', input: { command: 'ls' } },
    { seq: 6, type: 'session_update', name: 'renamed', permission_mode: 'plan' },
    { seq: 7, type: 'result', is_error: false, cost_usd: 0.5 },
    { seq: 8, type: 'session_update', cost_usd: 1.25, num_turns: 3 }
  ]);

  it('derives the session object from the events', () => {
    const live = liveFields(state);
    expect(live).toMatchObject({
      id: 'a',
      phase: 'awaiting_permission',
      name: 'renamed',
      permission_mode: 'plan',
      cost_usd: 1.25, // the session's total (server side), not the last turn's 0.5
      last_seq: 8
    });
    expect(live.pending_permissions?.map(p => p.request_id)).toEqual(['r1']);
  });

  it('applies live fields over the poll unless the poll is newer', () => {
    const live = new Map([['a', liveFields(state)]]);
    const merged = mergeLive([session('a'), session('b')], live);
    expect(merged[0]).toMatchObject({ phase: 'awaiting_permission', name: 'renamed' });
    expect(merged[0].pending_permissions).toHaveLength(1);
    expect(merged[1]).toEqual(session('b'));
    const newer = mergeLive([session('a', { last_seq: 9, phase: 'ready' })], live);
    expect(newer[0].phase).toBe('ready');
  });

  it('changes its signature only when something shown changes', () => {
    const one = liveSignature(liveFields(state));
    const streamed = reduceAll(state, [{ seq: null, type: 'stream_delta', kind: 'text', text: 'x' }]);
    expect(liveSignature(liveFields(streamed))).toBe(one);
    const resolved = reduceAll(state, [{ seq: 9, type: 'permission_resolved', request_id: 'r1', behavior: 'allow', by: 'user' }]);
    expect(liveSignature(liveFields(resolved))).not.toBe(one);
    expect(liveSignature(null)).toBe('');
  });
});

describe('slash commands', () => {
  it("prefers the session's slash_commands and skills, deduped, without slashes", () => {
    const state = reduceAll(initialState(session('a', { slash_commands: ['/compact', 'review'], skills: ['pdf'] })), [
      { seq: 4, type: 'session_init', slash_commands: ['compact', 'other'], skills: [] }
    ]);
    expect(slashCommandsOf(state)).toEqual(['compact', 'review', 'pdf']);
    const fromInit = reduceAll(initialState(session('b')), [{ seq: 4, type: 'session_init', slash_commands: ['clear'], skills: ['x'] }]);
    expect(slashCommandsOf(fromInit)).toEqual(['clear', 'x']);
  });

  it('describes failed control commands', () => {
    expect(describeControlError('set_permission_mode', 'nope')).toBe('Could not change the permission mode: nope');
  });
});

describe('settings', () => {
  it('uses only explicit user defaults and keeps a sane refresh interval', () => {
    const composite = { refreshInterval: 0, defaultBackend: 'codex', defaultPermissionMode: 'default' };
    expect(resolveSettings(composite, {})).toEqual({
      refreshInterval: 30,
      notifyPermissions: true,
      notifyTurnEnd: true,
      defaultBackend: 'codex',
      defaultPermissionMode: undefined,
      defaultModel: undefined
    });
    expect(resolveSettings({ refreshInterval: 10 }, { defaultPermissionMode: 'plan', defaultModel: 'opus' })).toMatchObject({
      refreshInterval: 10,
      defaultPermissionMode: 'plan',
      defaultModel: 'opus'
    });
    expect(resolveSettings({ notifyPermissions: false }, {}).notifyPermissions).toBe(false);
  });
});

describe('attention', () => {
  const request = (id: string) => ({ request_id: id, tool_name: 'Bash', input: {} });
  it('reports requests that appeared and requests that went away', () => {
    const before = session('a', { pending_permissions: [request('r1'), request('r2')] });
    const after = session('a', { pending_permissions: [request('r2'), request('r3')] });
    const change = attentionChange(before, after);
    expect(change.asked.map(r => r.request_id)).toEqual(['r3']);
    expect(change.settled).toEqual(['r1']);
    expect(attentionChange(undefined, after).asked).toHaveLength(2);
    expect(attentionChange(before, undefined).settled).toEqual(['r1', 'r2']);
    expect(attentionChange(after, after)).toEqual({ asked: [], settled: [], turnEnded: false });
    expect(attentionChange(session('a', { num_turns: 1 }), session('a', { num_turns: 2 })).turnEnded).toBe(true);
    expect(attentionChange(undefined, session('a', { num_turns: 2 })).turnEnded).toBe(false);
  });
});

describe('sessions feed frames', () => {
  it('replaces the list with a snapshot, upserts changes and drops removals', () => {
    const snapshot = applyFeedFrame(null, { seq: null, type: 'sessions', sessions: [session('a'), session('b')] });
    expect(snapshot?.map(s => s.id)).toEqual(['a', 'b']);
    const changed = applyFeedFrame(snapshot, {
      seq: null,
      type: 'session_changed',
      session: session('a', { phase: 'awaiting_permission', last_seq: 5 })
    });
    expect(changed?.[0].phase).toBe('awaiting_permission');
    expect(changed?.[1]).toBe(snapshot?.[1]);
    const added = applyFeedFrame(changed, { seq: null, type: 'session_changed', session: session('c') });
    expect(added?.map(s => s.id)).toEqual(['a', 'b', 'c']);
    const removed = applyFeedFrame(added, { seq: null, type: 'session_removed', session_id: 'b' });
    expect(removed?.map(s => s.id)).toEqual(['a', 'c']);
  });

  it('keeps a newer entry and ignores frames it does not know', () => {
    const list = [session('a', { last_seq: 9, phase: 'ready' })];
    const stale = applyFeedFrame(list, { seq: null, type: 'session_changed', session: session('a', { last_seq: 4, phase: 'streaming' }) });
    expect(stale).toBe(list);
    expect(applyFeedFrame(list, { seq: null, type: 'error', message: 'read-only' })).toBe(list);
    expect(applyFeedFrame(list, { seq: null, type: 'session_changed', session: { name: 'no id' } })).toBe(list);
    expect(applyFeedFrame(null, { seq: null, type: 'session_removed', session_id: 'a' })).toBeNull();
  });
});
