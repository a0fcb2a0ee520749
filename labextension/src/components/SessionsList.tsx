/**
 * The sessions sidebar: sessions grouped by project folder, phase dot,
 * pending-permission badge, cost, and the per-session actions.
 */
import { caretDownIcon, caretRightIcon, deleteIcon, editIcon, refreshIcon, runIcon } from '@jupyterlab/ui-components';
import * as React from 'react';
import { archiveIcon, branchIcon, unarchiveIcon } from '../icons';
import { formatCost, phaseClass, phaseLabel } from '../model/labels';
import { SessionInfo } from '../model/types';
import { SandboxBadge } from './SandboxBadge';
import { canRun, canWrite, UiContext } from './context';
import { SessionBadges } from './PluginFields';

export interface SessionsListProps {
  sessions: SessionInfo[] | null;
  error?: string | null;
  showArchived: boolean;
  activeId?: string | null;
  onToggleArchived: (value: boolean) => void;
  onNew: () => void;
  /** Open the agents manager / the runs of agents (sidebar entries). */
  onAgents?: () => void;
  onRuns?: () => void;
  /** Open the Integrations page (plugins' settings and status). */
  onIntegrations?: () => void;
  onRefresh: () => void;
  onOpen: (session: SessionInfo) => void;
  onRename: (session: SessionInfo, name: string) => void;
  onArchive: (session: SessionInfo) => void;
  onUnarchive: (session: SessionInfo) => void;
  onDelete: (session: SessionInfo) => void;
  onRelaunch: (session: SessionInfo) => void;
}

/** The project folder a session belongs to: its repository (the main working tree, so worktree
 * sessions sit with the repository they branch from), else its cwd. */
export function projectOf(session: SessionInfo): string {
  return session.worktree?.repo_root || session.git?.main_repo_root || session.git?.repo_root || session.cwd || '';
}

/** Group sessions by project, groups sorted by name, newest activity first inside. */
export function groupSessions(sessions: SessionInfo[]): [string, SessionInfo[]][] {
  const groups = new Map<string, SessionInfo[]>();
  for (const s of sessions) {
    const key = projectOf(s);
    if (!groups.has(key)) {
      groups.set(key, []);
    }
    groups.get(key)!.push(s);
  }
  const time = (s: SessionInfo) => {
    const v = s.last_activity_at ?? s.created_at ?? 0;
    return typeof v === 'number' ? v : Date.parse(String(v)) / 1000 || 0;
  };
  return Array.from(groups.entries())
    .map(([key, list]) => [key, list.sort((a, b) => time(b) - time(a))] as [string, SessionInfo[]])
    .sort((a, b) => a[0].localeCompare(b[0]));
}

/** The sessions whose name, backend, model, folder or branch contains every word of ``query``. */
export function filterSessions(sessions: SessionInfo[], query: string): SessionInfo[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) {
    return sessions;
  }
  return sessions.filter(s => {
    const haystack = [s.name, s.backend, s.model, s.cwd, s.git?.branch, s.phase].filter(Boolean).join(' ').toLowerCase();
    return words.every(w => haystack.includes(w));
  });
}

function baseName(path: string): string {
  const parts = path.replace(/\/+$/, '').split('/');
  return parts[parts.length - 1] || path || '/';
}

function SessionRow(props: SessionsListProps & { session: SessionInfo }): JSX.Element {
  const { session } = props;
  const ui = React.useContext(UiContext);
  const [editing, setEditing] = React.useState(false);
  const [name, setName] = React.useState(session.name);
  const pending = session.pending_permissions?.length ?? 0;
  const finishRename = (commit: boolean) => {
    setEditing(false);
    if (commit && name.trim() && name.trim() !== session.name) {
      props.onRename(session, name.trim());
    } else {
      setName(session.name);
    }
  };
  return (
    <li
      className={`jp-Companion-sessionRow ${props.activeId === session.id ? 'jp-mod-active' : ''}`}
      data-session-id={session.id}
      data-phase={session.phase}
    >
      <span
        className={`jp-Companion-dot ${phaseClass(session.phase)}`}
        title={phaseLabel(session.phase)}
        role="img"
        aria-label={phaseLabel(session.phase)}
      />
      {editing ? (
        <input
          className="jp-mod-styled jp-Companion-renameInput"
          aria-label="New session name"
          autoFocus
          value={name}
          onChange={e => setName(e.target.value)}
          onBlur={() => finishRename(true)}
          onKeyDown={e => {
            if (e.key === 'Enter') {
              finishRename(true);
            } else if (e.key === 'Escape') {
              finishRename(false);
            }
          }}
        />
      ) : (
        <button
          type="button"
          className="jp-Companion-sessionOpen"
          aria-label={`Open session ${session.name}`}
          title={`${session.name} — ${session.backend}${session.model ? ' · ' + session.model : ''} — ${session.cwd}`}
          onClick={() => props.onOpen(session)}
          onDoubleClick={() => canWrite(ui) && setEditing(true)}
        >
          <span className="jp-Companion-sessionName">{session.name}</span>
          <span className="jp-Companion-muted jp-Companion-sessionMeta">
            {session.backend}
            {session.git?.branch ? ` · ${session.git.branch}` : ''}
          </span>
        </button>
      )}
      <SandboxBadge session={session} />
      <SessionBadges session={session as unknown as Record<string, unknown>} />
      {pending ? (
        <span className="jp-Companion-pendingBadge" title={`${pending} pending permission request(s)`} aria-label={`${pending} pending permissions`}>
          {pending}
        </span>
      ) : null}
      {session.archived && session.worktree && session.worktree.removed === false ? (
        <span
          className="jp-Companion-keptWorktree"
          title={`Its worktree is kept at ${session.worktree.path}${session.worktree.dirty ? ' (uncommitted changes)' : ''}`}
          aria-label={`Worktree kept at ${session.worktree.path}`}
        >
          <branchIcon.react tag="span" className="jp-Companion-inlineIcon" /> kept
        </span>
      ) : null}
      {session.cost_usd ? <span className="jp-Companion-cost">{formatCost(session.cost_usd)}</span> : null}
      {canWrite(ui) ? (
      <span className="jp-Companion-rowActions">
        <button type="button" className="jp-Companion-iconButton" aria-label={`Rename ${session.name}`} title="Rename" onClick={() => setEditing(true)}>
          <editIcon.react tag="span" className="jp-Companion-inlineIcon" />
        </button>
        {session.phase === 'terminated' && canRun(ui) ? (
          <button type="button" className="jp-Companion-iconButton" aria-label={`Relaunch ${session.name}`} title="Relaunch" onClick={() => props.onRelaunch(session)}>
            <runIcon.react tag="span" className="jp-Companion-inlineIcon" />
          </button>
        ) : null}
        {session.archived ? (
          <button type="button" className="jp-Companion-iconButton" aria-label={`Unarchive ${session.name}`} title="Unarchive" onClick={() => props.onUnarchive(session)}>
            <unarchiveIcon.react tag="span" className="jp-Companion-inlineIcon" />
          </button>
        ) : (
          <button type="button" className="jp-Companion-iconButton" aria-label={`Archive ${session.name}`} title="Archive" onClick={() => props.onArchive(session)}>
            <archiveIcon.react tag="span" className="jp-Companion-inlineIcon" />
          </button>
        )}
        <button type="button" className="jp-Companion-iconButton jp-mod-danger" aria-label={`Delete ${session.name}`} title="Delete" onClick={() => props.onDelete(session)}>
          <deleteIcon.react tag="span" className="jp-Companion-inlineIcon" />
        </button>
      </span>
      ) : null}
    </li>
  );
}

export function SessionsList(props: SessionsListProps): JSX.Element {
  const ui = React.useContext(UiContext);
  const [collapsed, setCollapsed] = React.useState<Record<string, boolean>>({});
  const [query, setQuery] = React.useState('');
  const shown = props.sessions ? filterSessions(props.sessions, query) : null;
  const groups = shown ? groupSessions(shown) : [];
  return (
    <div className="jp-Companion-sidebar">
      <div className="jp-Companion-sidebarHeader">
        <h2 className="jp-Companion-sidebarTitle">Agent sessions</h2>
        {canRun(ui) ? (
          <button type="button" className="jp-Button jp-mod-styled jp-mod-accept" aria-label="New session" onClick={props.onNew}>
            + New session
          </button>
        ) : (
          <span className="jp-Companion-muted" title="You may watch the sessions here, not start them">Watch-only</span>
        )}
      </div>
      <div className="jp-Companion-sidebarTools">
        <label className="jp-Companion-check">
          <input
            type="checkbox"
            checked={props.showArchived}
            aria-label="Show archived sessions"
            onChange={e => props.onToggleArchived(e.target.checked)}
          />
          <span>archived</span>
        </label>
        <input
          type="search"
          className="jp-mod-styled jp-Companion-filter"
          aria-label="Filter sessions"
          placeholder="Filter"
          value={query}
          onChange={e => setQuery(e.target.value)}
        />
        <button type="button" className="jp-Companion-iconButton" aria-label="Refresh sessions" title="Refresh" onClick={props.onRefresh}>
          <refreshIcon.react tag="span" className="jp-Companion-inlineIcon" />
        </button>
      </div>
      {props.onAgents || props.onRuns ? (
        <div className="jp-Companion-sidebarTools">
          {props.onAgents ? (
            <button type="button" className="jp-Companion-linkButton" onClick={props.onAgents}>Agents</button>
          ) : null}
          {props.onRuns ? (
            <button type="button" className="jp-Companion-linkButton" onClick={props.onRuns}>Runs</button>
          ) : null}
          {props.onIntegrations ? (
            <button type="button" className="jp-Companion-linkButton" onClick={props.onIntegrations}>Integrations</button>
          ) : null}
        </div>
      ) : null}
      {props.error ? (
        <div className="jp-Companion-error" role="alert">
          {props.error}
        </div>
      ) : null}
      {props.sessions === null && !props.error ? <div className="jp-Companion-muted">Loading…</div> : null}
      {props.sessions && props.sessions.length === 0 ? (
        <div className="jp-Companion-empty">No sessions yet. Start one with “New session”.</div>
      ) : null}
      {props.sessions && props.sessions.length > 0 && shown?.length === 0 ? (
        <div className="jp-Companion-empty">No session matches “{query}”.</div>
      ) : null}
      {groups.map(([project, list]) => (
        <section key={project} className="jp-Companion-group" data-project={project}>
          <button
            type="button"
            className="jp-Companion-groupHeader"
            aria-expanded={!collapsed[project]}
            aria-label={`Project ${project}`}
            title={project}
            onClick={() => setCollapsed({ ...collapsed, [project]: !collapsed[project] })}
          >
            {collapsed[project] ? (
              <caretRightIcon.react tag="span" className="jp-Companion-inlineIcon" />
            ) : (
              <caretDownIcon.react tag="span" className="jp-Companion-inlineIcon" />
            )}{' '}
            {baseName(project)} <span className="jp-Companion-muted">({list.length})</span>
          </button>
          {!collapsed[project] ? (
            <ul className="jp-Companion-sessionList">
              {list.map(s => (
                <SessionRow key={s.id} {...props} session={s} />
              ))}
            </ul>
          ) : null}
        </section>
      ))}
    </div>
  );
}
