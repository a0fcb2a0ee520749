import { describe, expect, it } from 'vitest';
import { initialState, reduce, reduceAll } from '../src/model/reducer';
import {
  childrenByParent,
  isBusy,
  pendingList,
  retryableError,
  sessionCost,
  isQueuedEcho,
  queuedPrompts,
  turnsOf,
  workingStatus
} from '../src/model/selectors';
import { liveFields } from '../src/model/sessionsLive';
import { CompanionEvent } from '../src/model/types';

let n = 0;
function ev(type: string, fields: Record<string, unknown> = {}, seq?: number | null): CompanionEvent {
  return { seq: seq === undefined ? ++n : seq, type, ts: 0, session_id: 's1', ...fields };
}

describe('reducer', () => {
  it('builds a transcript from a full turn', () => {
    n = 0;
    const events = [
      ev('session_init', {
        model: 'claude-x',
        cwd: '/w',
        tools: ['Bash'],
        permission_mode: 'default',
        slash_commands: ['/clear'],
        skills: ['pdf']
      }),
      ev('phase', { phase: 'ready', previous: 'initializing' }),
      ev('user_message', { content: 'hello', client_msg_id: 'c1' }),
      ev('phase', { phase: 'streaming', previous: 'ready' }),
      ev('assistant', { message: { id: 'm1', model: 'claude-x', content: [{ type: 'text', text: 'Hi!' }] } }),
      ev('result', { is_error: false, cost_usd: 0.25, duration_ms: 1200, num_turns: 1, usage: { output_tokens: 5 } }),
      ev('session_update', { cost_usd: 0.75, usage: { output_tokens: 15 }, num_turns: 3 }),
      ev('phase', { phase: 'ready', previous: 'streaming' })
    ];
    const state = reduceAll(initialState(), events);
    expect(state.lastSeq).toBe(8);
    expect(state.phase).toBe('ready');
    expect(state.init?.slashCommands).toEqual(['/clear']);
    expect(state.session.model).toBe('claude-x');
    expect(state.items.map(i => i.kind)).toEqual(['user', 'assistant', 'result']);
    expect(sessionCost(state)).toBeCloseTo(0.75); // the session's total, as the server keeps it
    expect(liveFields(state).cost_usd).toBeCloseTo(0.75); // what the sidebar shows
    const turns = turnsOf(state.items);
    expect(turns).toHaveLength(1);
    expect(turns[0].user?.content).toBe('hello');
    expect(turns[0].result?.costUsd).toBe(0.25);
    expect(turns[0].result?.usage).toEqual({ output_tokens: 5 });
  });

  it('ignores duplicate and old seqs and keeps identity', () => {
    n = 0;
    const a = reduce(initialState(), ev('user_message', { content: 'x' }));
    const b = reduce(a, { ...ev('user_message', { content: 'x' }, 1) });
    expect(b).toBe(a);
    const replay = reduceAll(a, [ev('user_message', { content: 'x' }, 1), ev('phase', { phase: 'streaming' }, 2)]);
    expect(replay.items).toHaveLength(1);
    expect(replay.phase).toBe('streaming');
    expect(replay.lastSeq).toBe(2);
  });

  it('merges stream deltas and drops them when the final message arrives', () => {
    n = 0;
    let s = initialState();
    s = reduce(s, ev('stream_delta', { kind: 'thinking', text: 'hmm ' }, null));
    s = reduce(s, ev('stream_delta', { kind: 'text', text: 'Hel' }, null));
    s = reduce(s, ev('stream_delta', { kind: 'text', text: 'lo', message_id: 'm1' }, null));
    expect(s.streaming).toEqual({ text: 'Hello', thinking: 'hmm ', messageId: 'm1' });
    expect(s.lastSeq).toBe(0);
    expect(isBusy(s)).toBe(true);
    s = reduce(s, ev('assistant', { message: { id: 'm1', content: [{ type: 'text', text: 'Hello' }] } }));
    expect(s.streaming).toBeNull();
    expect(s.items).toHaveLength(1);
  });

  it('replaces its draft with a snapshot delta (what was streamed before it connected)', () => {
    n = 0;
    let s = initialState();
    s = reduce(s, ev('stream_delta', { kind: 'text', text: 'tick3 ', message_id: 'm1' }, null));
    s = reduce(s, ev('stream_delta', { kind: 'thinking', text: 'so far', snapshot: true, message_id: 'm1' }, null));
    s = reduce(s, ev('stream_delta', { kind: 'text', text: 'tick0 tick1 tick2 tick3 ', snapshot: true, message_id: 'm1' }, null));
    s = reduce(s, ev('stream_delta', { kind: 'text', text: 'tick4', message_id: 'm1' }, null));
    expect(s.streaming).toEqual({ text: 'tick0 tick1 tick2 tick3 tick4', thinking: 'so far', messageId: 'm1' });
  });

  it('keeps an incomplete answer and offers Retry until a newer prompt is sent', () => {
    n = 0;
    let s = initialState();
    s = reduce(s, ev('user_message', { content: 'go' }));
    s = reduce(s, ev('stream_delta', { kind: 'text', text: 'half an ans' }, null));
    s = reduce(s, ev('assistant', { incomplete: true, message: { id: 'm1', content: [{ type: 'text', text: 'half an ans' }] } }));
    s = reduce(s, ev('error', { code: 'cli_exited', message: 'stopped in the middle', retry: true }));
    expect(s.items.find(i => i.kind === 'assistant')).toMatchObject({ incomplete: true });
    expect(s.streaming).toBeNull();
    expect(retryableError(s)).toBe(3);
    s = reduce(s, ev('notice', { code: 'relaunched', message: 'relaunched' }));
    expect(retryableError(s)).toBe(3);
    s = reduce(s, ev('user_message', { content: 'go', retry_of: 1 }));
    expect(retryableError(s)).toBeNull();
    s = reduce(s, ev('error', { code: 'cli_exited', message: 'not answering', retry: false }));
    expect(retryableError(s)).toBeNull();
  });

  it('merges assistant events of one message id and dedupes blocks', () => {
    n = 0;
    const s = reduceAll(initialState(), [
      ev('assistant', { message: { id: 'm1', content: [{ type: 'thinking', thinking: 'plan' }] } }),
      ev('assistant', { message: { id: 'm1', content: [{ type: 'text', text: 'Doing it' }] } }),
      ev('assistant', {
        message: { id: 'm1', content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'ls' } }] }
      }),
      ev('assistant', {
        message: { id: 'm1', content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'ls' } }] }
      }),
      ev('tool_result', { tool_use_id: 't1', content: 'a\nb', is_error: false })
    ]);
    expect(s.items).toHaveLength(1);
    const item = s.items[0];
    expect(item.kind).toBe('assistant');
    if (item.kind === 'assistant') {
      expect(item.blocks.map(b => b.type)).toEqual(['thinking', 'text', 'tool_use']);
    }
    expect(s.toolResults.t1).toEqual({ content: 'a\nb', isError: false, seq: 5 });
  });

  it('tracks pending permissions until resolved (by anyone)', () => {
    n = 0;
    let s = reduceAll(initialState(), [
      ev('permission_request', {
        request_id: 'r1',
        tool_name: 'Bash',
        input: { command: 'rm x' },
        suggestions: [{ type: 'addRules' }],
        tool_use_id: 't1'
      }),
      ev('permission_request', { request_id: 'r2', tool_name: 'Write', input: { file_path: 'a', content: 'b' } })
    ]);
    expect(pendingList(s).map(r => r.request_id)).toEqual(['r1', 'r2']);
    expect(pendingList(s)[0].suggestions).toEqual([{ type: 'addRules' }]);
    s = reduce(s, ev('permission_resolved', { request_id: 'r1', behavior: 'allow', by: 'plugin' }));
    expect(pendingList(s).map(r => r.request_id)).toEqual(['r2']);
    expect(s.resolved.r1).toEqual({ behavior: 'allow', by: 'plugin', toolUseId: 't1', toolName: 'Bash' });
    s = reduce(s, ev('session_update', { pending_permissions: [] }));
    expect(pendingList(s)).toEqual([]);
  });

  it('replaces the optimistic user message with the stored one', () => {
    n = 0;
    let s = reduce(initialState(), { type: 'local_user_message', content: 'hi', client_msg_id: 'c9' });
    expect(s.items).toHaveLength(1);
    expect(s.items[0].kind === 'user' && s.items[0].local).toBe(true);
    s = reduce(s, ev('user_message', { content: 'hi', client_msg_id: 'c9' }));
    expect(s.items).toHaveLength(1);
    expect(s.items[0].kind === 'user' && s.items[0].local).toBeFalsy();
    expect(s.items[0].seq).toBe(1);
  });

  it('keeps transient errors apart from stored ones and records unknown events', () => {
    n = 0;
    let s = reduce(initialState(), ev('error', { message: 'bad command' }, null));
    expect(s.transientError).toBe('bad command');
    expect(s.items).toHaveLength(0);
    s = reduceAll(s, [ev('error', { message: 'CLI crashed', code: 'exit' }), ev('compact_boundary', { subtype: 'auto' })]);
    expect(s.items.map(i => i.kind)).toEqual(['error', 'system']);
    expect(s.items[1].kind === 'system' && s.items[1].text).toContain('compact_boundary');
  });

  it('applies session_update fields', () => {
    n = 0;
    const s = reduce(
      initialState({ id: 's1', name: 'old' }),
      ev('session_update', { name: 'new', model: 'opus', git: { branch: 'main' } })
    );
    expect(s.session.name).toBe('new');
    expect(s.session.model).toBe('opus');
    expect(s.session.git).toEqual({ branch: 'main' });
  });

  it('groups subagent messages under their Task tool use', () => {
    n = 0;
    const s = reduceAll(initialState(), [
      ev('assistant', { message: { id: 'm1', content: [{ type: 'tool_use', id: 'task1', name: 'Task', input: {} }] } }),
      ev('assistant', { message: { id: 'm2', content: [{ type: 'text', text: 'sub' }] }, parent_tool_use_id: 'task1' })
    ]);
    const groups = childrenByParent(s.items);
    expect(Object.keys(groups)).toEqual(['task1']);
    expect(groups.task1[0].messageId).toBe('m2');
  });

  it('replays a 10k-event history quickly in one pass', () => {
    n = 0;
    const events: CompanionEvent[] = [];
    for (let i = 0; i < 2500; i++) {
      events.push(ev('user_message', { content: `q${i}` }));
      events.push(ev('assistant', { message: { id: `m${i}`, content: [{ type: 'text', text: `a${i}` }] } }));
      events.push(ev('phase', { phase: 'ready' }));
      events.push(ev('result', { is_error: false, cost_usd: 0.001 }));
    }
    const s = reduceAll(initialState(), events);
    expect(s.items).toHaveLength(7500);
    expect(s.lastSeq).toBe(10000);
    expect(turnsOf(s.items)).toHaveLength(2500);
  });

  it('shows a working indicator while nothing streams, with the model trouble the CLI reports', () => {
    n = 0;
    let s = reduceAll(initialState(), [
      ev('phase', { phase: 'ready' }),
      ev('user_message', { content: 'hi' }),
      ev('phase', { phase: 'streaming', ts: '2026-12-02T10:00:00.000Z' })
    ]);
    expect(workingStatus(s)).toEqual({ since: Date.parse('2026-12-02T10:00:00.000Z'), trouble: null });
    s = reduce(s, ev('notice', {
      level: 'warning',
      code: 'model_retrying',
      message: 'The model could not be reached (HTTP 401); retrying, attempt 2 of 5…',
      detail: 'HTTP 401',
      attempt: 2,
      max_attempts: 5
    }));
    expect(workingStatus(s)?.trouble).toMatchObject({ detail: 'HTTP 401', attempt: 2, maxAttempts: 5 });
    // the retry notice is not a transcript line of its own
    expect(s.items.filter(i => i.kind === 'notice')).toHaveLength(0);
    // the first token hides the indicator and clears the trouble
    s = reduce(s, ev('stream_delta', { kind: 'text', text: 'Hel' }, null));
    expect(workingStatus(s)).toBeNull();
    expect(s.modelTrouble).toBeNull();
    // the full message: the agent is working again (e.g. a tool runs) from that moment
    s = reduce(s, ev('assistant', { message: { id: 'm1', content: [{ type: 'text', text: 'Hello' }] }, ts: 5000 }));
    expect(workingStatus(s)).toEqual({ since: 5000, trouble: null });
    s = reduce(s, ev('result', { is_error: false }));
    s = reduce(s, ev('phase', { phase: 'ready' }));
    expect(workingStatus(s)).toBeNull();
  });

  it('shows other notices as one line with their level, not as raw type names', () => {
    n = 0;
    const s = reduceAll(initialState(), [
      ev('notice', { level: 'warning', code: 'permission_mode_downgraded', message: 'Using acceptEdits instead.' })
    ]);
    expect(s.items).toEqual([
      expect.objectContaining({ kind: 'notice', level: 'warning', code: 'permission_mode_downgraded', message: 'Using acceptEdits instead.' })
    ]);
  });

  it('keeps a prompt sent mid-answer out of the transcript until the server stores it after the turn', () => {
    n = 0;
    let s = reduceAll(initialState(), [ev('user_message', { content: 'first' }), ev('phase', { phase: 'streaming' })]);
    s = reduce(s, { type: 'local_user_message', content: 'second', client_msg_id: 'q2', queued: true });
    expect(queuedPrompts(s)).toEqual([{ key: 'local-q2', content: 'second' }]);
    expect(s.items.filter(isQueuedEcho)).toHaveLength(1);
    // the server lists it (with an id to withdraw it): the list replaces the echo
    s = reduce(s, ev('session_update', { queued_messages: [{ id: 'abc', content: 'second', client_msg_id: 'q2' }] }));
    expect(queuedPrompts(s)).toEqual([{ key: 'q-abc', content: 'second', id: 'abc' }]);
    expect(s.items.filter(i => i.kind === 'user').map(i => (i as { content: string }).content)).toEqual(['first']);
    // after the turn: stored in order, no longer waiting
    s = reduceAll(s, [
      ev('assistant', { message: { id: 'm1', content: [{ type: 'text', text: 'answer' }] } }),
      ev('result', { is_error: false }),
      ev('user_message', { content: 'second', client_msg_id: 'q2' }),
      ev('session_update', { queued_messages: [] })
    ]);
    expect(queuedPrompts(s)).toEqual([]);
    expect(s.items.map(i => i.kind)).toEqual(['user', 'assistant', 'result', 'user']);
  });

  it('marks an echo as waiting when the server says it queued it', () => {
    n = 0;
    let s = reduce(initialState(), { type: 'local_user_message', content: 'hi', client_msg_id: 'x1' });
    expect(queuedPrompts(s)).toEqual([]);
    s = reduce(s, { type: 'ack', client_msg_id: 'x1', queued: true, seq: null } as unknown as CompanionEvent);
    expect(queuedPrompts(s)).toEqual([{ key: 'local-x1', content: 'hi' }]);
  });
});
