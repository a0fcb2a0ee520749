/**
 * Command delivery: `ack` frames, error frames carrying a client_msg_id, the
 * connection's outbox (resent on reconnect until answered), and frames the
 * reducer does not know.
 */
import { describe, expect, it } from 'vitest';
import { ChatModel } from '../src/model/chatModel';
import { SessionConnection, parseFrame } from '../src/model/connection';
import { initialState, reduce, reduceAll } from '../src/model/reducer';
import { CompanionEvent } from '../src/model/types';
import { FakeSocket } from './fakeSocket';

function harness() {
  const sockets: FakeSocket[] = [];
  const timers: (() => void)[] = [];
  const model = new ChatModel({
    sessionId: 's',
    wsUrl: 'ws://h/',
    schedule: fn => fn(),
    socketFactory: url => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    connection: { setTimer: fn => timers.push(fn), clearTimer: () => undefined }
  });
  model.start();
  sockets[0].open();
  return { model, sockets, timers };
}

describe('acks and command errors in the reducer', () => {
  it('marks a tracked command delivered on ack (duplicate flag kept)', () => {
    let state = reduce(initialState(), { type: 'local_command', command: 'set_model', client_msg_id: 'c1' });
    expect(state.commands.c1).toEqual({ type: 'set_model', status: 'sending', requestId: undefined });
    state = reduce(state, { seq: null, type: 'ack', client_msg_id: 'c1', duplicate: true });
    expect(state.commands.c1).toMatchObject({ status: 'delivered', duplicate: true });
    expect(state.items).toEqual([]);
    expect(state.transientError).toBeNull();
  });

  it('shows an error next to the user message it belongs to', () => {
    let state = reduce(initialState(), { type: 'local_user_message', content: 'hi', client_msg_id: 'm1' });
    state = reduce(state, { seq: null, type: 'error', message: 'this session is archived', client_msg_id: 'm1' });
    expect(state.commands.m1).toMatchObject({ type: 'user_message', status: 'failed', error: 'this session is archived' });
    expect(state.transientError).toBeNull(); // not a free-floating error
    expect(state.items).toHaveLength(1);
    // The user retries: the failed echo is dropped.
    state = reduce(state, { type: 'local_drop', client_msg_id: 'm1' });
    expect(state.items).toEqual([]);
    expect(state.commands.m1).toBeUndefined();
  });

  it('keeps a control error until the next control command', () => {
    let state = reduce(initialState(), { type: 'local_command', command: 'set_permission_mode', client_msg_id: 'p' });
    state = reduce(state, { seq: null, type: 'error', message: 'the CLI is not running', client_msg_id: 'p' });
    expect(state.controlError).toEqual({ clientMsgId: 'p', type: 'set_permission_mode', message: 'the CLI is not running' });
    state = reduce(state, { type: 'local_command', command: 'set_model', client_msg_id: 'q' });
    expect(state.controlError).toBeNull();
  });

  it('treats an error with an unknown client_msg_id (or none) as a transient error', () => {
    const state = reduce(initialState(), { seq: null, type: 'error', message: 'bad frame', client_msg_id: 'other-tab' });
    expect(state.transientError).toBe('bad frame');
  });

  it('never breaks on unknown or malformed frames', () => {
    const weird = [
      { seq: null, type: 'brand_new_transient', x: 1 },
      { seq: null, type: 'ack' },
      { seq: null, type: 'ack', client_msg_id: 'never-sent' },
      { seq: null },
      { seq: null, type: 42 },
      { seq: 1, type: 'brand_new_stored', payload: { deep: [1, 2] } },
      { seq: 2, type: { nested: true } },
      { seq: 3 },
      { seq: 'x', type: 'phase', phase: 'ready' },
      { seq: 4, type: 'assistant' },
      { seq: 5, type: 'assistant', message: { content: 'not a list' } },
      { seq: 6, type: 'tool_result' },
      { seq: 7, type: 'permission_request' },
      { seq: 8, type: 'permission_resolved', request_id: 'nope' },
      { seq: 9, type: 'session_update', pending_permissions: 'nope' },
      { seq: 10, type: 'result', cost_usd: 'free' },
      { seq: 11, type: 'user_message', images: 'none' },
      { seq: NaN, type: 'phase' }
    ] as unknown as CompanionEvent[];
    let state = initialState();
    for (const frame of weird) {
      state = reduce(state, frame);
    }
    state = reduce(state, null as unknown as CompanionEvent);
    state = reduceAll(state, [undefined as unknown as CompanionEvent, 7 as unknown as CompanionEvent]);
    expect(state.lastSeq).toBe(11);
    expect(state.items.filter(i => i.kind === 'system').length).toBeGreaterThanOrEqual(2);
    // Still fully functional afterwards.
    state = reduce(state, { seq: 12, type: 'user_message', content: 'still works' });
    expect(state.items[state.items.length - 1]).toMatchObject({ kind: 'user', content: 'still works' });
  });

  it('parses only JSON objects off the wire', () => {
    expect(parseFrame('{"type":"ack"}')).toEqual({ type: 'ack' });
    for (const bad of ['null', '7', '"x"', '[1]', 'not json', new ArrayBuffer(2)]) {
      expect(parseFrame(bad)).toBeNull();
    }
  });
});

describe('the outbox of the connection', () => {
  it('resends unacknowledged commands on reconnect and drops answered ones', () => {
    const { model, sockets, timers } = harness();
    const m1 = model.sendMessage('first');
    model.setPermissionMode('plan');
    model.setModel('opus');
    const [, mode, modelCmd] = sockets[0].commands();
    expect(model.unacknowledged).toEqual([m1, mode.client_msg_id, modelCmd.client_msg_id]);
    // The server answers two of them, then the socket drops.
    sockets[0].deliver({ seq: null, type: 'ack', client_msg_id: mode.client_msg_id, duplicate: false });
    sockets[0].deliver({ seq: null, type: 'error', message: 'unknown model', client_msg_id: modelCmd.client_msg_id });
    expect(model.unacknowledged).toEqual([m1]);
    expect(model.state.commands[mode.client_msg_id].status).toBe('delivered');
    expect(model.state.controlError?.message).toBe('unknown model');
    sockets[0].close();
    timers[0]();
    sockets[1].open();
    // Only the unanswered message goes again, with the same id (the server dedupes it).
    expect(sockets[1].commands()).toEqual([{ type: 'user_message', content: 'first', client_msg_id: m1 }]);
    sockets[1].deliver({ seq: 1, type: 'user_message', content: 'first', client_msg_id: m1 });
    expect(model.unacknowledged).toEqual([]);
    expect(model.state.items).toEqual([expect.objectContaining({ kind: 'user', seq: 1, content: 'first' })]);
  });

  it('shows a refused permission answer on its banner and lets the user answer again', () => {
    const { model, sockets } = harness();
    sockets[0].deliver({ seq: 1, type: 'permission_request', request_id: 'r1', tool_name: 'Bash', input: {} });
    model.respond('r1', 'allow');
    expect(model.answered.has('r1')).toBe(true);
    const sent = sockets[0].commands()[0];
    sockets[0].deliver({ seq: null, type: 'error', message: 'the CLI is not running', client_msg_id: sent.client_msg_id });
    expect(model.answered.has('r1')).toBe(false);
    expect(model.permissionError('r1')).toBe('the CLI is not running');
    model.respond('r1', 'deny');
    expect(model.permissionError('r1')).toBeNull();
    expect(model.answered.has('r1')).toBe(true);
  });

  it('retries a failed message under a new id', () => {
    const { model, sockets } = harness();
    const id = model.sendMessage('hello');
    sockets[0].deliver({ seq: null, type: 'error', message: 'archived', client_msg_id: id });
    model.retryMessage(id);
    const items = model.state.items;
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ kind: 'user', content: 'hello', local: true });
    expect((items[0] as { clientMsgId?: string }).clientMsgId).not.toBe(id);
    expect(sockets[0].commands().map(c => c.content)).toEqual(['hello', 'hello']);
  });

  it('keeps commands without an id in a plain queue', () => {
    const sockets: FakeSocket[] = [];
    const conn = new SessionConnection({
      wsUrl: 'ws://h/',
      sessionId: 's',
      lastSeq: () => 0,
      onEvent: () => undefined,
      socketFactory: url => {
        const s = new FakeSocket(url);
        sockets.push(s);
        return s;
      },
      setTimer: () => undefined
    });
    conn.send({ type: 'interrupt' });
    expect(conn.unacknowledged).toEqual([]);
    sockets[0].open();
    expect(sockets[0].commands()).toEqual([{ type: 'interrupt' }]);
  });
});
