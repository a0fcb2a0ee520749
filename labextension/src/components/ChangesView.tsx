/**
 * The "Changes" view of a chat tab: the files the agent changed in the
 * session's repository and the unified diff of the selected one, compared with
 * the last commit or with the default branch.
 */
import * as React from 'react';
import { ChangedFile, ChangesModel, displayedDiffLines, statusLabel } from '../model/changes';
import { UiContext } from './context';

function useChanges(model: ChangesModel): ChangesModel['state'] {
  const [, setTick] = React.useState(0);
  React.useEffect(() => model.subscribe(() => setTick(t => t + 1)), [model]);
  return model.state;
}

/** One file's unified diff, line-numbered (git's per-file header lines left out). */
export function UnifiedDiff(props: { diff: string }): JSX.Element {
  const lines = React.useMemo(() => displayedDiffLines(props.diff), [props.diff]);
  return (
    <div className="jp-Companion-unifiedDiff" role="table" aria-label="Diff">
      {lines.map((line, index) => (
        <div key={index} className={`jp-Companion-udLine jp-mod-${line.kind}`} role="row">
          <span className="jp-Companion-udNo" aria-hidden="true">
            {line.oldNo ?? ''}
          </span>
          <span className="jp-Companion-udNo" aria-hidden="true">
            {line.newNo ?? ''}
          </span>
          <span className="jp-Companion-udSign" aria-hidden="true">
            {line.kind === 'add' ? '+' : line.kind === 'del' ? '-' : ' '}
          </span>
          <span className="jp-Companion-udText" role="cell">
            {line.text}
          </span>
        </div>
      ))}
    </div>
  );
}

function FileRow(props: { file: ChangedFile; selected: boolean; onSelect: () => void }): JSX.Element {
  const { file } = props;
  const label = statusLabel(file);
  return (
    <li className={`jp-Companion-changedFile${props.selected ? ' jp-mod-selected' : ''}`} data-path={file.path}>
      <button
        type="button"
        className="jp-Companion-changedFileButton"
        aria-pressed={props.selected}
        aria-label={`${file.path}, ${label}`}
        onClick={props.onSelect}
      >
        <span className={`jp-Companion-fileStatus jp-mod-${label.replace(' ', '-')}`} title={label}>
          {file.untracked ? 'U' : file.status[0]}
        </span>
        <span className="jp-Companion-filePath">
          {file.old_path && file.old_path !== file.path ? `${file.old_path} → ` : ''}
          {file.path}
        </span>
        {file.binary ? (
          <span className="jp-Companion-muted">binary</span>
        ) : (
          <span className="jp-Companion-fileStats">
            <span className="jp-Companion-added">+{file.additions}</span>{' '}
            <span className="jp-Companion-removed">−{file.deletions}</span>
          </span>
        )}
      </button>
    </li>
  );
}

export function ChangesView(props: { model: ChangesModel }): JSX.Element {
  const { model } = props;
  const state = useChanges(model);
  const ui = React.useContext(UiContext);
  const files = state.files ?? [];
  return (
    <div className="jp-Companion-changes" aria-busy={state.loading}>
      <div className="jp-Companion-changesToolbar">
        <label>
          Compare with{' '}
          <select
            aria-label="Compare with"
            value={state.base}
            onChange={e => void model.setBase(e.target.value === 'default' ? 'default' : 'head')}
          >
            <option value="head">the last commit</option>
            <option value="default">the default branch</option>
          </select>
        </label>
        <span className="jp-Companion-muted" role="status">
          {state.files === null ? 'Loading…' : `${files.length} changed file${files.length === 1 ? '' : 's'}`}
        </span>
        <span className="jp-Companion-spacer" />
        <button type="button" className="jp-Button jp-mod-styled" aria-label="Refresh the changes" onClick={() => void model.refresh()}>
          Refresh
        </button>
      </div>
      {state.error ? (
        <div className="jp-Companion-muted jp-Companion-changesError" role="alert">
          {state.error}
        </div>
      ) : null}
      {state.files !== null && files.length === 0 && !state.error ? (
        <div className="jp-Companion-muted">No changes.</div>
      ) : null}
      <ul className="jp-Companion-changedFiles" aria-label="Changed files">
        {files.map(file => (
          <FileRow
            key={file.path}
            file={file}
            selected={file.path === state.selected}
            onSelect={() => void model.select(file.path === state.selected ? null : file.path)}
          />
        ))}
      </ul>
      {state.commits.length ? (
        <details className="jp-Companion-commits">
          <summary>Recent commits ({state.commits.length})</summary>
          <ul aria-label="Recent commits">
            {state.commits.map(c => (
              <li key={c.sha} className="jp-Companion-commit" title={c.sha}>
                <code>{c.short_sha}</code> {c.summary}
                {c.author_name ? <span className="jp-Companion-muted"> — {c.author_name}</span> : null}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
      {state.selected ? (
        <div className="jp-Companion-fileDiff" data-path={state.selected}>
          <div className="jp-Companion-fileDiffHeader">
            <span className="jp-Companion-filePath">{state.selected}</span>
            <span className="jp-Companion-spacer" />
            {ui.openFile && !files.find(f => f.path === state.selected)?.status.startsWith('D') ? (
              <button
                type="button"
                className="jp-Button jp-mod-styled"
                aria-label={`Open ${state.selected} in the editor`}
                onClick={() => ui.openFile?.(model.absolutePath(state.selected as string))}
              >
                Open
              </button>
            ) : null}
          </div>
          {state.diffError ? (
            <div className="jp-Companion-error" role="alert">
              {state.diffError}
            </div>
          ) : state.diff === null ? (
            <div className="jp-Companion-muted">Loading the diff…</div>
          ) : state.diff.binary ? (
            <div className="jp-Companion-muted">A binary file: no text diff.</div>
          ) : (
            <>
              <UnifiedDiff diff={state.diff.diff} />
              {state.diff.truncated ? <div className="jp-Companion-muted">The diff was cut at 2,000,000 characters.</div> : null}
            </>
          )}
        </div>
      ) : null}
    </div>
  );
}
