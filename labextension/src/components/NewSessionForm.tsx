/**
 * The new-session form: backend (unavailable ones disabled, with the reason),
 * model, permission mode, folder, git branch / new branch / worktree, then the
 * creation progress streamed live from the NDJSON answer.
 */
import * as React from 'react';
import { CreateSessionRequest, ProgressLine } from '../api';
import { BackendInfo, PERMISSION_MODES, SessionInfo } from '../model/types';

export interface NewSessionFormProps {
  loadBackends: () => Promise<BackendInfo[]>;
  create: (body: CreateSessionRequest, onLine: (line: ProgressLine) => void) => Promise<SessionInfo>;
  defaultCwd: string;
  defaultBackend?: string;
  defaultMode?: string;
  onCreated: (session: SessionInfo) => void;
  onCancel: () => void;
}

interface Step {
  step: string;
  label: string;
  status: string;
  detail?: string;
}

/** Fold one progress line into the step list (a step updates in place). */
export function applyProgress(steps: Step[], line: ProgressLine): Step[] {
  if (line.type !== 'progress') {
    return steps;
  }
  const key = line.step ?? line.label ?? String(steps.length);
  const next: Step = { step: key, label: line.label ?? key, status: line.status ?? 'in_progress', detail: line.detail };
  const index = steps.findIndex(s => s.step === key);
  if (index < 0) {
    return [...steps, next];
  }
  const copy = steps.slice();
  copy[index] = { ...copy[index], ...next, label: line.label ?? copy[index].label };
  return copy;
}

export function NewSessionForm(props: NewSessionFormProps): JSX.Element {
  const [backends, setBackends] = React.useState<BackendInfo[] | null>(null);
  const [loadError, setLoadError] = React.useState<string | null>(null);
  const [backend, setBackend] = React.useState('');
  const [model, setModel] = React.useState('');
  const [mode, setMode] = React.useState(props.defaultMode ?? 'default');
  const [cwd, setCwd] = React.useState(props.defaultCwd);
  const [name, setName] = React.useState('');
  const [branch, setBranch] = React.useState('');
  const [createBranch, setCreateBranch] = React.useState(false);
  const [worktree, setWorktree] = React.useState(false);
  const [steps, setSteps] = React.useState<Step[]>([]);
  const [error, setError] = React.useState<string | null>(null);
  const [creating, setCreating] = React.useState(false);

  React.useEffect(() => {
    let live = true;
    props
      .loadBackends()
      .then(list => {
        if (!live) {
          return;
        }
        setBackends(list);
        const preferred = list.find(b => b.available && b.name === props.defaultBackend) ?? list.find(b => b.available);
        setBackend(preferred?.name ?? '');
      })
      .catch(err => live && setLoadError(String(err?.message ?? err)));
    return () => {
      live = false;
    };
  }, []);

  const selected = backends?.find(b => b.name === backend);
  const submit = async () => {
    if (!backend || creating) {
      return;
    }
    setCreating(true);
    setError(null);
    setSteps([]);
    const body: CreateSessionRequest = { backend, permission_mode: mode };
    if (cwd.trim()) {
      body.cwd = cwd.trim();
    }
    if (model) {
      body.model = model;
    }
    if (name.trim()) {
      body.name = name.trim();
    }
    if (branch.trim()) {
      body.branch = branch.trim();
      body.create_branch = createBranch;
    }
    if (worktree) {
      body.worktree = true;
    }
    try {
      const session = await props.create(body, line => setSteps(current => applyProgress(current, line)));
      props.onCreated(session);
    } catch (err: any) {
      setError(String(err?.message ?? err));
      setCreating(false);
    }
  };

  return (
    <form
      className="jp-Companion-newSession"
      aria-label="New agent session"
      onSubmit={e => {
        e.preventDefault();
        void submit();
      }}
      onKeyDown={e => {
        if (e.key === 'Escape') {
          e.preventDefault();
          props.onCancel();
        }
      }}
    >
      <h2 className="jp-Companion-dialogTitle">New agent session</h2>
      {loadError ? <div className="jp-Companion-error" role="alert">Could not list backends: {loadError}</div> : null}
      {backends === null && !loadError ? <div className="jp-Companion-muted">Loading backends…</div> : null}
      {backends ? (
        <fieldset className="jp-Companion-backends" disabled={creating}>
          <legend>Backend</legend>
          {backends.map(b => (
            <label key={b.name} className={`jp-Companion-backend ${b.available ? '' : 'jp-mod-disabled'}`} data-backend={b.name}>
              <input
                type="radio"
                name="companion-backend"
                value={b.name}
                disabled={!b.available}
                checked={backend === b.name}
                onChange={() => {
                  setBackend(b.name);
                  setModel('');
                }}
              />
              <span>{b.label || b.name}</span>
              {b.version ? <span className="jp-Companion-muted"> {b.version}</span> : null}
              {!b.available ? (
                <span className="jp-Companion-reason"> — unavailable: {b.reason ?? 'not installed'}</span>
              ) : null}
            </label>
          ))}
          {backends.length === 0 ? <div className="jp-Companion-muted">No backend is installed.</div> : null}
        </fieldset>
      ) : null}
      <fieldset disabled={creating} className="jp-Companion-fieldsGrid">
        <label>
          <span>Model</span>
          <select className="jp-mod-styled" aria-label="Model" value={model} onChange={e => setModel(e.target.value)}>
            <option value="">default</option>
            {(selected?.models ?? []).map(m => (
              <option key={m.id} value={m.id}>
                {m.label || m.id}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>Permission mode</span>
          <select className="jp-mod-styled" aria-label="Permission mode" value={mode} onChange={e => setMode(e.target.value)}>
            {(selected?.permission_modes ?? PERMISSION_MODES).map(m => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>Folder</span>
          <input
            className="jp-mod-styled"
            aria-label="Folder (relative to the server root)"
            value={cwd}
            placeholder="(server root)"
            onChange={e => setCwd(e.target.value)}
          />
        </label>
        <label>
          <span>Name</span>
          <input className="jp-mod-styled" aria-label="Session name" value={name} placeholder="(automatic)" onChange={e => setName(e.target.value)} />
        </label>
        <label>
          <span>Git branch</span>
          <input
            className="jp-mod-styled"
            aria-label="Git branch"
            value={branch}
            placeholder="(current)"
            onChange={e => setBranch(e.target.value)}
          />
        </label>
        <label className="jp-Companion-check">
          <input type="checkbox" checked={createBranch} onChange={e => setCreateBranch(e.target.checked)} aria-label="Create the branch" />
          <span>create this branch</span>
        </label>
        <label className="jp-Companion-check">
          <input type="checkbox" checked={worktree} onChange={e => setWorktree(e.target.checked)} aria-label="Use a git worktree" />
          <span>in a separate git worktree</span>
        </label>
      </fieldset>
      {steps.length ? (
        <ol className="jp-Companion-progress" aria-label="Creation progress" aria-live="polite">
          {steps.map(s => (
            <li key={s.step} className={`jp-mod-${s.status}`} data-step={s.step}>
              <span className="jp-Companion-stepIcon" aria-hidden="true">
                {s.status === 'done' ? '✓' : s.status === 'error' ? '✗' : '…'}
              </span>{' '}
              {s.label}
              {s.detail ? <span className="jp-Companion-muted"> — {s.detail}</span> : null}
            </li>
          ))}
        </ol>
      ) : null}
      {error ? (
        <div className="jp-Companion-error" role="alert">
          {error}
        </div>
      ) : null}
      <div className="jp-Companion-dialogButtons">
        <button type="button" className="jp-Button jp-mod-styled jp-mod-reject" aria-label="Cancel" onClick={props.onCancel}>
          Cancel
        </button>
        <button
          type="submit"
          className="jp-Button jp-mod-styled jp-mod-accept"
          aria-label="Create session"
          disabled={!backend || creating}
        >
          {creating ? 'Creating…' : 'Create'}
        </button>
      </div>
    </form>
  );
}
