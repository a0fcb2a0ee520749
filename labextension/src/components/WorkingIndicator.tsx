/**
 * "Working… 12 s": shown while a turn runs and nothing streams, so a slow model, a long tool
 * or a CLI that cannot reach its model is never mistaken for a dead session.
 */
import * as React from 'react';
import { WorkingStatus } from '../model/selectors';

/** Seconds (or minutes and seconds) in words, for the indicator. */
export function formatElapsed(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) {
    return `${seconds} s`;
  }
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/** Re-render every second while mounted. */
function useNow(): number {
  const [now, setNow] = React.useState(() => Date.now());
  React.useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  return now;
}

export function WorkingIndicator(props: { status: WorkingStatus }): JSX.Element {
  const now = useNow();
  const { since, trouble } = props.status;
  // a clock that runs behind the server's must not show a negative time
  const elapsed = since > 0 ? formatElapsed(now - since) : '';
  return (
    <div
      className={`jp-Companion-working${trouble ? ' jp-mod-trouble' : ''}`}
      role="status"
      aria-live="polite"
      data-elapsed={elapsed}
    >
      <span className="jp-Companion-workingSpinner" aria-hidden="true" />
      <span className="jp-Companion-workingText">
        {trouble ? trouble.message : 'Working…'}
        {elapsed ? <span className="jp-Companion-muted"> {elapsed}</span> : null}
      </span>
    </div>
  );
}
