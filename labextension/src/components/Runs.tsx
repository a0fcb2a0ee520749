/**
 * The runs of agents ("Agent Runs" in the palette): status, trigger, when and how long, cost, the
 * error of a failed run, and the session each ran in (opened in its chat tab). Refreshed every few
 * seconds while open; a run waiting on a permission says so.
 */
import * as React from 'react';
import { AgentInfo, RunInfo } from '../model/types';

export interface RunsProps {
  load: (filters: { agent_id?: string; status?: string }) => Promise<{ runs: RunInfo[]; total: number }>;
  agents: () => Promise<AgentInfo[]>;
  openSession: (sessionId: string) => void;
  /** Show only this agent's runs at first. */
  agentId?: string;
  /** Milliseconds between two refreshes (0: none). */
  refreshMs?: number;
}

const STATUS_LABELS: Record<string, string> = {
  running: 'running', awaiting_permission: 'waiting for a permission', success: 'success', error: 'error',
  skipped: 'skipped'
};

/** How long a run took (or has been going), as people read it. */
export function runDuration(run: RunInfo, now: number = Date.now()): string {
  const start = Date.parse(run.started_at);
  const end = run.ended_at ? Date.parse(run.ended_at) : now;
  if (Number.isNaN(start) || Number.isNaN(end)) {
    return '';
  }
  const seconds = Math.max(0, Math.round((end - start) / 1000));
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

export function Runs(props: RunsProps): JSX.Element {
  const [runs, setRuns] = React.useState<{ runs: RunInfo[]; total: number } | null>(null);
  const [agents, setAgents] = React.useState<AgentInfo[]>([]);
  const [agentId, setAgentId] = React.useState(props.agentId ?? '');
  const [status, setStatus] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);

  const reload = React.useCallback(async () => {
    try {
      setRuns(await props.load({ agent_id: agentId || undefined, status: status || undefined }));
      setError(null);
    } catch (err: any) {
      setError(String(err?.message ?? err));
    }
  }, [props.load, agentId, status]);
  React.useEffect(() => {
    void props.agents().then(setAgents, () => undefined);
  }, [props.agents]);
  React.useEffect(() => {
    void reload();
    const every = props.refreshMs ?? 3000;
    if (!every) {
      return;
    }
    const timer = window.setInterval(() => void reload(), every);
    return () => window.clearInterval(timer);
  }, [reload, props.refreshMs]);

  return (
    <div className="jp-Companion-runs">
      <h2>Agent runs</h2>
      <div className="jp-Companion-formActions">
        <select className="jp-mod-styled" aria-label="Agent" value={agentId} onChange={e => setAgentId(e.target.value)}>
          <option value="">every agent</option>
          {agents.map(a => <option key={a.id} value={a.id}>{a.name}</option>)}
        </select>
        <select className="jp-mod-styled" aria-label="Status" value={status} onChange={e => setStatus(e.target.value)}>
          <option value="">any status</option>
          {Object.entries(STATUS_LABELS).map(([value, label]) => <option key={value} value={value}>{label}</option>)}
        </select>
        <button type="button" className="jp-mod-styled" onClick={() => void reload()}>Refresh</button>
      </div>
      {error ? <p className="jp-Companion-error" role="alert">{error}</p> : null}
      {!runs ? (
        <p className="jp-Companion-muted">Loading the runs…</p>
      ) : runs.runs.length === 0 ? (
        <p className="jp-Companion-muted">No runs yet.</p>
      ) : (
        <table className="jp-Companion-runsTable" aria-label="Runs">
          <thead>
            <tr><th>Agent</th><th>Trigger</th><th>Status</th><th>Started</th><th>Took</th><th>Cost</th><th>Session</th></tr>
          </thead>
          <tbody>
            {runs.runs.map(run => (
              <tr key={run.id} className={`jp-Companion-run jp-mod-${run.status}`}>
                <td>{run.agent_name ?? run.agent_id}</td>
                <td>{run.trigger}</td>
                <td>
                  {STATUS_LABELS[run.status] ?? run.status}
                  {run.error ? <div className="jp-Companion-runError">{run.error}</div> : null}
                </td>
                <td>{new Date(run.started_at).toLocaleString()}</td>
                <td>{runDuration(run)}</td>
                <td>{typeof run.cost_usd === 'number' ? `$${run.cost_usd.toFixed(4)}` : ''}</td>
                <td>
                  {run.session_id ? (
                    <button type="button" className="jp-Companion-linkButton" aria-label={`Open the session of run ${run.id.slice(0, 8)}`}
                      onClick={() => props.openSession(run.session_id as string)}>
                      Open
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {runs && runs.total > runs.runs.length ? (
        <p className="jp-Companion-muted">{runs.runs.length} of {runs.total} runs shown.</p>
      ) : null}
    </div>
  );
}
