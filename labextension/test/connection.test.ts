import { describe, expect, it } from 'vitest';
import { ChatModel } from '../src/model/chatModel';
import { SessionConnection, feedSocketUrl, sessionSocketUrl } from '../src/model/connection';
import { FakeSocket } from './fakeSocket';

function harness() {
  const sockets: FakeSocket[] = [];
  const timers: (() => void)[] = [];
  const model = new ChatModel({
    sessionId: 's 1',
    wsUrl: 'ws://h/base/',
    token: 't&k',
    schedule: fn => fn(),
    socketFactory: url => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    connection: { setTimer: fn => timers.push(fn), clearTimer: () => undefined }
  });
  return { model, sockets, timers };
}

describe('session connection', () => {
  it('builds the URL with after and the token', () => {
    expect(sessionSocketUrl('ws://h/base', 'a/b', 7, 'x y')).toBe(
      'ws://h/base/companion/ws/sessions/a%2Fb?after=7&token=x%20y'
    );
  });

  it('opens the sessions feed at its own URL and reopens it after a drop', () => {
    expect(feedSocketUrl('ws://h/base/', 'x y')).toBe('ws://h/base/companion/ws/sessions?token=x%20y');
    expect(feedSocketUrl('ws://h/base')).toBe('ws://h/base/companion/ws/sessions');
    const sockets: FakeSocket[] = [];
    const timers: (() => void)[] = [];
    const frames: unknown[] = [];
    const feed = new SessionConnection({
      wsUrl: 'ws://h/base',
      sessionId: '',
      lastSeq: () => 0,
      socketUrl: () => feedSocketUrl('ws://h/base', 't'),
      onEvent: frame => frames.push(frame),
      socketFactory: url => {
        const s = new FakeSocket(url);
        sockets.push(s);
        return s;
      },
      setTimer: fn => timers.push(fn),
      clearTimer: () => undefined
    });
    feed.connect();
    expect(sockets[0].url).toBe('ws://h/base/companion/ws/sessions?token=t');
    sockets[0].open();
    sockets[0].deliver({ seq: null, type: 'sessions', sessions: [] });
    expect(frames).toHaveLength(1);
    sockets[0].close();
    expect(feed.state).toBe('reconnecting');
    timers.shift()?.();
    expect(sockets[1].url).toBe(sockets[0].url);
    feed.dispose();
  });

  it('reconnects with after=<last seq> and applies no duplicate', () => {
    const { model, sockets, timers } = harness();
    const states: string[] = [];
    model.subscribe(() => states.push(model.connection));
    model.start();
    expect(sockets[0].url).toBe('ws://h/base/companion/ws/sessions/s%201?after=0&token=t%26k');
    sockets[0].open();
    sockets[0].deliver({ seq: 1, type: 'user_message', content: 'a' });
    sockets[0].deliver({ seq: 2, type: 'phase', phase: 'streaming' });
    sockets[0].close();
    expect(model.connection).toBe('reconnecting');
    expect(timers).toHaveLength(1);
    timers[0]();
    expect(sockets[1].url).toContain('after=2');
    sockets[1].open();
    sockets[1].deliver({ seq: 2, type: 'phase', phase: 'streaming' });
    sockets[1].deliver({ seq: 3, type: 'assistant', message: { id: 'm', content: [{ type: 'text', text: 'b' }] } });
    expect(model.state.items.map(i => i.kind)).toEqual(['user', 'assistant']);
    expect(model.state.lastSeq).toBe(3);
    expect(states).toContain('connected');
    model.dispose();
    expect(model.connection).toBe('disconnected');
  });

  it('queues commands while disconnected and flushes them on open', () => {
    const { model, sockets } = harness();
    model.start();
    const id = model.sendMessage('hello');
    model.interrupt();
    expect(sockets[0].sent).toHaveLength(0);
    expect(model.state.items[0]).toMatchObject({ kind: 'user', local: true, clientMsgId: id });
    sockets[0].open();
    const sent = sockets[0].sent.map(s => JSON.parse(s));
    expect(sent[0]).toEqual({ type: 'user_message', content: 'hello', client_msg_id: id });
    expect(sent[1].type).toBe('interrupt');
    expect(typeof sent[1].client_msg_id).toBe('string');
  });

  it('sends permission responses, model and mode commands', () => {
    const { model, sockets } = harness();
    model.start();
    sockets[0].open();
    sockets[0].deliver({ seq: 1, type: 'permission_request', request_id: 'r1', tool_name: 'Bash', input: {} });
    model.respond('r1', 'deny', { message: 'no' });
    model.setModel('opus');
    model.setPermissionMode('plan');
    const sent = sockets[0].sent.map(s => JSON.parse(s));
    expect(sent[0]).toMatchObject({ type: 'permission_response', request_id: 'r1', behavior: 'deny', message: 'no' });
    expect(sent[1]).toMatchObject({ type: 'set_model', model: 'opus' });
    expect(sent[2]).toMatchObject({ type: 'set_permission_mode', mode: 'plan' });
    expect(model.answered.has('r1')).toBe(true);
    sockets[0].deliver({ seq: 2, type: 'permission_resolved', request_id: 'r1', behavior: 'deny', by: 'user' });
    expect(model.answered.has('r1')).toBe(false);
    expect(model.state.pendingOrder).toEqual([]);
  });

  it('does not reconnect after dispose', () => {
    const sockets: FakeSocket[] = [];
    const timers: (() => void)[] = [];
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
      setTimer: fn => timers.push(fn)
    });
    conn.connect();
    sockets[0].open();
    conn.dispose();
    expect(timers).toHaveLength(0);
    expect(conn.state).toBe('disconnected');
  });
});
