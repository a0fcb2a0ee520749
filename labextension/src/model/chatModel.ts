/**
 * The live model behind one chat tab: a SessionConnection feeding the pure
 * reducer, with events batched so a long history replays in one pass.
 */
import { newClientMsgId } from './ids';
import { ConnectionOptions, ConnectionState, SessionConnection, SocketLike } from './connection';
import { ChatState } from './chatState';
import { initialState, reduce, reduceAll } from './reducer';
import { isBusy, queuedPrompts } from './selectors';
import { CompanionEvent, Command, SessionInfo } from './types';

export interface ChatModelOptions {
  sessionId: string;
  wsUrl: string;
  token?: string;
  session?: Partial<SessionInfo>;
  socketFactory?: (url: string) => SocketLike;
  /** Schedules a batch flush (defaults to a 16 ms timer). */
  schedule?: (fn: () => void) => void;
  connection?: Partial<ConnectionOptions>;
}

/** Options of a permission answer. */
export interface PermissionAnswer {
  message?: string;
  updated_input?: Record<string, unknown>;
  updated_permissions?: unknown[];
}

/** State + commands of one session's chat. */
export class ChatModel {
  readonly sessionId: string;
  private _state: ChatState;
  private _connection: ConnectionState = 'disconnected';
  private inbox: CompanionEvent[] = [];
  private flushScheduled = false;
  private listeners = new Set<() => void>();
  private socket: SessionConnection;
  private schedule: (fn: () => void) => void;
  /** Request ids answered from this tab, awaiting `permission_resolved` (a failed answer is removed). */
  readonly answered = new Set<string>();
  /** The client_msg_id of the latest answer sent for each request id. */
  private answers = new Map<string, string>();

  constructor(options: ChatModelOptions) {
    this.sessionId = options.sessionId;
    this._state = initialState(options.session);
    this.schedule = options.schedule ?? (fn => void setTimeout(fn, 16));
    this.socket = new SessionConnection({
      wsUrl: options.wsUrl,
      token: options.token,
      sessionId: options.sessionId,
      lastSeq: () => {
        this.flush();
        return this._state.lastSeq;
      },
      onEvent: ev => this.receive(ev),
      onState: s => {
        this._connection = s;
        this.emit();
      },
      socketFactory: options.socketFactory,
      ...options.connection
    });
  }

  get state(): ChatState {
    return this._state;
  }

  get connection(): ConnectionState {
    return this._connection;
  }

  /** Listen for changes; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Open the WebSocket. */
  start(): void {
    this.socket.connect();
  }

  /** Force a reconnect (after=<last seq>). */
  reconnect(): void {
    this.socket.reconnectNow();
  }

  /** Queue an incoming event; applied in the next batch. */
  receive(event: CompanionEvent): void {
    this.inbox.push(event);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.schedule(() => this.flush());
    }
  }

  /** Apply every queued event now. */
  flush(): void {
    this.flushScheduled = false;
    if (this.inbox.length === 0) {
      return;
    }
    const batch = this.inbox;
    this.inbox = [];
    const next = reduceAll(this._state, batch);
    for (const [requestId, clientMsgId] of Array.from(this.answers)) {
      if (!next.pending[requestId]) {
        this.answered.delete(requestId);
        this.answers.delete(requestId);
      } else if (next.commands[clientMsgId]?.status === 'failed') {
        this.answered.delete(requestId); // let the user answer again
      }
    }
    this.setState(next);
  }

  /** The error of the latest answer sent for a pending request, if the server refused it. */
  permissionError(requestId: string): string | null {
    const clientMsgId = this.answers.get(requestId);
    const command = clientMsgId ? this._state.commands[clientMsgId] : undefined;
    return command?.status === 'failed' ? command.error ?? 'the answer failed' : null;
  }

  /** The client_msg_ids of commands the server has not answered yet. */
  get unacknowledged(): string[] {
    return this.socket.unacknowledged;
  }

  /** Send a prompt (shown at once as a local echo). */
  sendMessage(content: string, images?: { media_type: string; data: string }[]): string {
    const clientMsgId = newClientMsgId();
    this.flush();
    // while the agent answers the server holds the prompt until the turn ends: show it as waiting
    const queued = isBusy(this._state) || queuedPrompts(this._state).length > 0;
    this.setState(
      reduce(this._state, { type: 'local_user_message', content, client_msg_id: clientMsgId, images, queued })
    );
    const command: Extract<Command, { type: 'user_message' }> = {
      type: 'user_message',
      content,
      client_msg_id: clientMsgId
    };
    if (images && images.length) {
      command.images = images;
    }
    this.socket.send(command);
    return clientMsgId;
  }

  /** Answer a pending permission request. */
  respond(requestId: string, behavior: 'allow' | 'deny', answer: PermissionAnswer = {}): void {
    const clientMsgId = newClientMsgId();
    this.answered.add(requestId);
    this.answers.set(requestId, clientMsgId);
    this.track('permission_response', clientMsgId, requestId);
    const command: Command = {
      type: 'permission_response',
      request_id: requestId,
      behavior,
      client_msg_id: clientMsgId,
      ...answer
    };
    this.socket.send(command);
  }

  /** Send the last prompt again (after the CLI died in the middle of its answer). */
  retryLastPrompt(): void {
    const clientMsgId = this.track('retry');
    this.socket.send({ type: 'retry', client_msg_id: clientMsgId });
  }

  /** Withdraw a prompt that waits for the running turn (`queued_messages[].id`). */
  cancelQueued(queuedId: string): void {
    const clientMsgId = this.track('cancel_queued');
    this.socket.send({ type: 'cancel_queued', queued_id: queuedId, client_msg_id: clientMsgId });
  }

  interrupt(): void {
    const clientMsgId = this.track('interrupt');
    this.socket.send({ type: 'interrupt', client_msg_id: clientMsgId });
  }

  setModel(model: string): void {
    const clientMsgId = this.track('set_model');
    this.socket.send({ type: 'set_model', model, client_msg_id: clientMsgId });
  }

  setPermissionMode(mode: string): void {
    const clientMsgId = this.track('set_permission_mode');
    this.socket.send({ type: 'set_permission_mode', mode, client_msg_id: clientMsgId });
  }

  /** Resend a user message the server refused (a new id; the failed echo is dropped). */
  retryMessage(clientMsgId: string): void {
    const item = this._state.items.find(it => it.kind === 'user' && it.local && it.clientMsgId === clientMsgId);
    if (!item || item.kind !== 'user') {
      return;
    }
    this.flush();
    this.setState(reduce(this._state, { type: 'local_drop', client_msg_id: clientMsgId }));
    this.sendMessage(item.content, item.images);
  }

  /** Register a command in the state (delivery tracking) and return its new client_msg_id. */
  private track(command: string, clientMsgId = newClientMsgId(), requestId?: string): string {
    this.flush();
    this.setState(reduce(this._state, { type: 'local_command', command, client_msg_id: clientMsgId, request_id: requestId }));
    return clientMsgId;
  }

  dispose(): void {
    this.socket.dispose();
    this.listeners.clear();
  }

  private setState(state: ChatState): void {
    if (state !== this._state) {
      this._state = state;
      this.emit();
    }
  }

  private emit(): void {
    for (const listener of Array.from(this.listeners)) {
      listener();
    }
  }
}
