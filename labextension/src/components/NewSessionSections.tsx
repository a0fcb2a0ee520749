/**
 * Sections of the new-session form (NewSessionForm.tsx): the backend choice, the sandbox and its
 * profile, the git branch and worktree, and the creation progress. Each is presentational: the
 * form holds the state and passes it in.
 */
import * as React from 'react';
import { SandboxInfo } from '../api';
import { BackendInfo, SandboxProfile } from '../model/types';

/** A creation step as the NDJSON answer reports it. */
export interface Step {
  step: string;
  label: string;
  status: string;
  detail?: string;
}

/** The backends as radio buttons: an unavailable one disabled with its reason, a missing login said. */
export function BackendChoices(props: {
  backends: BackendInfo[];
  chosen: string;
  disabled: boolean;
  onChoose: (name: string) => void;
}): JSX.Element {
  return (
    <fieldset className="jp-Companion-backends" disabled={props.disabled}>
      <legend>Backend</legend>
      {props.backends.map(b => (
        <label key={b.name} className={`jp-Companion-backend ${b.available ? '' : 'jp-mod-disabled'}`} data-backend={b.name}>
          <input
            type="radio"
            name="companion-backend"
            value={b.name}
            disabled={!b.available}
            checked={props.chosen === b.name}
            onChange={() => props.onChoose(b.name)}
          />
          <span>{b.label || b.name}</span>
          {b.version ? <span className="jp-Companion-muted"> {b.version}</span> : null}
          {!b.available ? (
            <span className="jp-Companion-reason"> — unavailable: {b.reason ?? 'not installed'}</span>
          ) : null}
          {b.available && b.credentials && !b.credentials.configured ? (
            <span className="jp-Companion-reason jp-mod-warning" role="note">
              {' '}
              — no credentials found. {b.credentials.hint ?? ''}
            </span>
          ) : null}
        </label>
      ))}
      {props.backends.length === 0 ? <div className="jp-Companion-muted">No backend is installed.</div> : null}
    </fieldset>
  );
}

/** The sandbox (when the server has providers) and, for a provider that takes them, its profile. */
export function SandboxFields(props: {
  sandboxes: SandboxInfo[];
  chosen: string;
  onChoose: (name: string) => void;
  profiles: SandboxProfile[];
  profile: string;
  onProfile: (name: string) => void;
}): JSX.Element {
  const sandboxChoice = props.sandboxes.find(s => s.name === props.chosen);
  return (
    <>
      {props.sandboxes.length ? (
        <label>
          <span>Sandbox</span>
          <select className="jp-mod-styled" aria-label="Sandbox" value={props.chosen} onChange={e => props.onChoose(e.target.value)}>
            <option value="">server default</option>
            {props.sandboxes.map(s => (
              <option key={s.name} value={s.name} disabled={s.available === false} title={s.reason ?? s.description}>
                {s.label || s.name}
                {s.available === false ? ` — unavailable: ${s.reason ?? ''}` : ''}
              </option>
            ))}
          </select>
        </label>
      ) : null}
      {sandboxChoice?.profiles ? (
        <label>
          <span>Sandbox profile</span>
          {props.profiles.length ? (
            <select
              className="jp-mod-styled"
              aria-label="Sandbox profile"
              value={props.profile}
              onChange={e => props.onProfile(e.target.value)}
            >
              {props.profiles.map(p => (
                <option key={p.name} value={p.name} title={p.description ?? p.image ?? ''}>
                  {p.name}
                  {p.image ? ` (${p.image})` : p.dockerfile ? ' (Dockerfile)' : ''}
                </option>
              ))}
            </select>
          ) : (
            <span className="jp-Companion-reason jp-mod-warning" role="note">
              No {sandboxChoice.label ?? props.chosen} profile yet: create one with the command “Sandbox Profiles…”.
            </span>
          )}
        </label>
      ) : null}
    </>
  );
}

/** The branches of the chosen folder's repository, asked once the folder stops changing. */
export function useBranches(cwd: string, load?: (cwd: string) => Promise<string[]>): string[] {
  const [branches, setBranches] = React.useState<string[]>([]);
  React.useEffect(() => {
    if (!load) {
      return;
    }
    let current = true;
    const timer = window.setTimeout(() => {
      load(cwd.trim()).then(
        list => current && setBranches(list),
        () => current && setBranches([])
      );
    }, 250);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [cwd, load]);
  return branches;
}

/** The git branch (offered from the repository's), whether to create it, and a worktree. */
export function GitFields(props: {
  branches: string[];
  branch: string;
  onBranch: (branch: string) => void;
  createBranch: boolean;
  onCreateBranch: (create: boolean) => void;
  worktree: boolean;
  onWorktree: (worktree: boolean) => void;
}): JSX.Element {
  const wanted = props.branch.trim();
  const newBranch = wanted !== '' && props.branches.length > 0 && !props.branches.includes(wanted);
  return (
    <>
      <label>
        <span>Git branch</span>
        <input
          className="jp-mod-styled"
          aria-label="Git branch"
          value={props.branch}
          placeholder={props.branches.length ? `(current: ${props.branches[0]})` : '(current)'}
          list={props.branches.length ? 'jp-Companion-branches' : undefined}
          onChange={e => props.onBranch(e.target.value)}
        />
        {props.branches.length ? (
          <datalist id="jp-Companion-branches">
            {props.branches.map(b => (
              <option key={b} value={b} />
            ))}
          </datalist>
        ) : null}
      </label>
      {newBranch && !props.createBranch ? (
        <div className="jp-Companion-muted jp-Companion-modeHelp">
          No branch of that name yet: tick “create this branch” to start it.
        </div>
      ) : null}
      <label className="jp-Companion-check">
        <input type="checkbox" checked={props.createBranch} onChange={e => props.onCreateBranch(e.target.checked)} aria-label="Create the branch" />
        <span>create this branch</span>
      </label>
      <label className="jp-Companion-check">
        <input type="checkbox" checked={props.worktree} onChange={e => props.onWorktree(e.target.checked)} aria-label="Use a git worktree" />
        <span>in a separate git worktree</span>
      </label>
    </>
  );
}

/** The creation's steps as they arrive (nothing before the first). */
export function CreationSteps(props: { steps: Step[] }): JSX.Element | null {
  if (!props.steps.length) {
    return null;
  }
  return (
    <ol className="jp-Companion-progress" aria-label="Creation progress" aria-live="polite">
      {props.steps.map(s => (
        <li key={s.step} className={`jp-mod-${s.status}`} data-step={s.step}>
          <span className="jp-Companion-stepIcon" aria-hidden="true">
            {s.status === 'done' ? '✓' : s.status === 'error' ? '✗' : '…'}
          </span>{' '}
          {s.label}
          {s.detail ? <span className="jp-Companion-muted"> — {s.detail}</span> : null}
        </li>
      ))}
    </ol>
  );
}
