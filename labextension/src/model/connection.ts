/**
 * The WebSocket of one session (`companion/ws/sessions/{id}?after=N`).
 *
 * It reconnects with a growing delay and always asks for `after=<last seq
 * the view has applied>` so a reconnect yields no duplicate and no gap.
 * Commands sent while disconnected are queued and flushed on reconnect.
 *
 * Commands that carry a `client_msg_id` stay in an outbox until the server
 * answers them with an `ack` frame (`{type: "ack", seq: null, client_msg_id,
 * duplicate}`) or an error frame carrying the same id. Whatever is still in
 * the outbox when a new socket opens is sent again: the server drops a
 * repeated id (and acks it as a duplicate), so nothing runs twice.
 */
import { CompanionEvent, Command } from './types';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/** The subset of the WebSocket API used here (lets tests inject a fake). */
export interface SocketLike {
  readyState: number;
  onopen: ((ev: any) => void) | null;
  onclose: ((ev: any) => void) | null;
  onerror: ((ev: any) => void) | null;
  onmessage: ((ev: { data: any }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface ConnectionOptions {
  /** The server's WebSocket base URL (ServerConnection settings' wsUrl). */
  wsUrl: string;
  token?: string;
  sessionId: string;
  /** The last stored seq the view has applied (read at every (re)connect). */
  lastSeq: () => number;
  onEvent: (event: CompanionEvent) => void;
  onState?: (state: ConnectionState) => void;
  /** The URL to open instead of the session's (used by the sessions feed). */
  socketUrl?: () => string;
  /** Injected WebSocket constructor (defaults to the global one). */
  socketFactory?: (url: string) => SocketLike;
  /** Reconnect delays in ms; the last one repeats. */
  delays?: number[];
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

const OPEN = 1;

/** At most this many unanswered commands are kept for resending. */
export const MAX_OUTBOX = 200;

/** Parse one text frame; anything that is not a JSON object is dropped. */
export function parseFrame(data: unknown): CompanionEvent | null {
  if (typeof data !== 'string') {
    return null;
  }
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return null;
  }
  return value as CompanionEvent;
}

/** Build the WebSocket URL of a session. */
export function sessionSocketUrl(wsUrl: string, sessionId: string, after: number, token?: string): string {
  const base = wsUrl.endsWith('/') ? wsUrl : wsUrl + '/';
  let url = `${base}companion/ws/sessions/${encodeURIComponent(sessionId)}?after=${after}`;
  if (token) {
    url += `&token=${encodeURIComponent(token)}`;
  }
  return url;
}

/** Build the WebSocket URL of the sessions feed. */
export function feedSocketUrl(wsUrl: string, token?: string): string {
  const base = wsUrl.endsWith('/') ? wsUrl : wsUrl + '/';
  return `${base}companion/ws/sessions` + (token ? `?token=${encodeURIComponent(token)}` : '');
}

/** A self-healing WebSocket subscription to one session. */
export class SessionConnection {
  private socket: SocketLike | null = null;
  private queue: string[] = [];
  /** Commands with a client_msg_id not yet acknowledged (id -> frame), in send order. */
  private outbox = new Map<string, string>();
  private attempt = 0;
  private timer: unknown = null;
  private disposed = false;
  private _state: ConnectionState = 'disconnected';

  constructor(private readonly options: ConnectionOptions) {}

  get state(): ConnectionState {
    return this._state;
  }

  /** Open the socket (idempotent). */
  connect(): void {
    if (this.disposed || this.socket) {
      return;
    }
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const o = this.options;
    const url = o.socketUrl ? o.socketUrl() : sessionSocketUrl(o.wsUrl, o.sessionId, o.lastSeq(), o.token);
    const factory = o.socketFactory ?? ((u: string) => new WebSocket(u) as unknown as SocketLike);
    const socket = factory(url);
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) {
        return;
      }
      this.attempt = 0;
      this.setState('connected');
      const pending = this.queue;
      this.queue = [];
      pending.forEach(data => socket.send(data));
      this.outbox.forEach(data => socket.send(data));
    };
    socket.onmessage = msg => {
      if (this.socket !== socket) {
        return;
      }
      const event = parseFrame(msg.data);
      if (!event) {
        return;
      }
      this.settle(event);
      o.onEvent(event);
    };
    socket.onerror = () => {
      /* onclose follows */
    };
    socket.onclose = () => {
      if (this.socket !== socket) {
        return;
      }
      this.socket = null;
      if (this.disposed) {
        this.setState('disconnected');
        return;
      }
      this.scheduleReconnect();
    };
  }

  /** Reconnect now (e.g. the user pressed "Reconnect"). */
  reconnectNow(): void {
    if (this.timer !== null) {
      (this.options.clearTimer ?? clearTimeout)(this.timer as any);
      this.timer = null;
    }
    if (this.socket) {
      const old = this.socket;
      this.socket = null;
      old.close();
    }
    this.connect();
  }

  /** The client_msg_ids of the commands the server has not answered yet, oldest first. */
  get unacknowledged(): string[] {
    return Array.from(this.outbox.keys());
  }

  /**
   * Send a command; queued while the socket is not open. Returns true if sent at once.
   * A command with a client_msg_id is kept until acknowledged and resent on reconnect.
   */
  send(command: Command): boolean {
    const data = JSON.stringify(command);
    const id = command.client_msg_id;
    if (id) {
      this.outbox.delete(id);
      this.outbox.set(id, data);
      while (this.outbox.size > MAX_OUTBOX) {
        this.outbox.delete(this.outbox.keys().next().value as string);
      }
    }
    if (this.socket && this.socket.readyState === OPEN) {
      this.socket.send(data);
      return true;
    }
    if (!id) {
      this.queue.push(data);
    }
    if (!this.socket && this.timer === null) {
      this.connect();
    }
    return false;
  }

  /** Close for good. */
  dispose(): void {
    this.disposed = true;
    if (this.timer !== null) {
      (this.options.clearTimer ?? clearTimeout)(this.timer as any);
      this.timer = null;
    }
    const socket = this.socket;
    this.socket = null;
    socket?.close();
    this.setState('disconnected');
  }

  /** Drop a command from the outbox once the server answered it (ack, error or its stored event). */
  private settle(event: CompanionEvent): void {
    const id = event.client_msg_id;
    if (typeof id !== 'string' || !this.outbox.has(id)) {
      return;
    }
    const answered =
      event.type === 'ack' || (event.type === 'error' && event.seq === null) || typeof event.seq === 'number';
    if (answered) {
      this.outbox.delete(id);
    }
  }

  private scheduleReconnect(): void {
    const delays = this.options.delays ?? [500, 1000, 2000, 5000, 10000];
    const delay = delays[Math.min(this.attempt, delays.length - 1)];
    this.attempt += 1;
    this.setState('reconnecting');
    const setTimer = this.options.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
    this.timer = setTimer(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  private setState(state: ConnectionState): void {
    if (state !== this._state) {
      this._state = state;
      this.options.onState?.(state);
    }
  }
}
