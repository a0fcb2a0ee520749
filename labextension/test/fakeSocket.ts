/** A scriptable stand-in for a browser WebSocket, shared by the connection tests. */
import { SocketLike } from '../src/model/connection';

export class FakeSocket implements SocketLike {
  readyState = 0;
  sent: string[] = [];
  onopen: ((ev: any) => void) | null = null;
  onclose: ((ev: any) => void) | null = null;
  onerror: ((ev: any) => void) | null = null;
  onmessage: ((ev: { data: any }) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.readyState = 3;
    this.onclose?.({});
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  /** Deliver a frame: a string as is, anything else as JSON. */
  deliver(obj: unknown) {
    this.onmessage?.({ data: typeof obj === 'string' ? obj : JSON.stringify(obj) });
  }
  /** The commands sent so far, decoded. */
  commands() {
    return this.sent.map(s => JSON.parse(s));
  }
}
