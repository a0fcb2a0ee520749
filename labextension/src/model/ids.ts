/** A fresh client message id (dedupe key of a command). */
export function newClientMsgId(): string {
  const c = (globalThis as any).crypto;
  if (c && typeof c.randomUUID === 'function') {
    return c.randomUUID();
  }
  return `c-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
