/**
 * The WebSocket of one session (`companion/ws/sessions/{id}?after=N`).
 *
 * It reconnects with a growing delay and always asks for `after=<last seq
 * the view has applied>` so a reconnect yields no duplicate and no gap.
 * Commands sent while disconnected are queued and flushed on reconnect
 * (each carries a client_msg_id, so a repeat is dropped by the server).
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
  /** Injected WebSocket constructor (defaults to the global one). */
  socketFactory?: (url: string) => SocketLike;
  /** Reconnect delays in ms; the last one repeats. */
  delays?: number[];
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

const OPEN = 1;

/** Build the WebSocket URL of a session. */
export function sessionSocketUrl(wsUrl: string, sessionId: string, after: number, token?: string): string {
  const base = wsUrl.endsWith('/') ? wsUrl : wsUrl + '/';
  let url = `${base}companion/ws/sessions/${encodeURIComponent(sessionId)}?after=${after}`;
  if (token) {
    url += `&token=${encodeURIComponent(token)}`;
  }
  return url;
}

/** A self-healing WebSocket subscription to one session. */
export class SessionConnection {
  private socket: SocketLike | null = null;
  private queue: string[] = [];
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
    const url = sessionSocketUrl(o.wsUrl, o.sessionId, o.lastSeq(), o.token);
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
    };
    socket.onmessage = msg => {
      if (this.socket !== socket || typeof msg.data !== 'string') {
        return;
      }
      let event: CompanionEvent;
      try {
        event = JSON.parse(msg.data);
      } catch {
        return;
      }
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

  /** Send a command; queued while the socket is not open. Returns true if sent at once. */
  send(command: Command): boolean {
    const data = JSON.stringify(command);
    if (this.socket && this.socket.readyState === OPEN) {
      this.socket.send(data);
      return true;
    }
    this.queue.push(data);
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
