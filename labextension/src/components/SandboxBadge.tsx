/**
 * The badge of a session that runs in a sandbox other than the local one: the provider's name,
 * and in its tooltip what the sandbox made (container, image, published ports).
 */
import * as React from 'react';
import { SandboxState, SessionInfo } from '../model/types';

/** The session's sandbox as an object (older servers sent only the provider's name). */
export function sandboxOf(session: Pick<Partial<SessionInfo>, 'sandbox'>): SandboxState {
  const value = session.sandbox;
  if (value && typeof value === 'object') {
    return value;
  }
  return { provider: typeof value === 'string' && value ? value : 'local' };
}

export function SandboxBadge(props: { session: Pick<Partial<SessionInfo>, 'sandbox'> }): JSX.Element | null {
  const sandbox = sandboxOf(props.session);
  if (sandbox.provider === 'local') {
    return null;
  }
  const details = [`Runs in the ${sandbox.provider} sandbox${sandbox.profile ? ` (profile ${sandbox.profile})` : ''}`];
  if (sandbox.container_name) {
    details.push(`container ${sandbox.container_name}`);
  }
  if (sandbox.image) {
    details.push(`image ${sandbox.image}`);
  }
  for (const [inside, outside] of Object.entries(sandbox.ports ?? {})) {
    details.push(`port ${inside} → 127.0.0.1:${outside}`);
  }
  const title = details.join('\n');
  return (
    <span className="jp-Companion-badge jp-Companion-sandboxBadge" title={title} aria-label={details[0]}>
      {sandbox.provider}
    </span>
  );
}
