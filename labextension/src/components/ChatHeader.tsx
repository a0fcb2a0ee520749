/**
 * The chat's header: phase, name, branch and pull request, the Conversation / Changes views, the
 * session's cost, the connection, and the actions (Fork, Export, Terminal). In a narrow panel it
 * stays one row: the actions show only their icons and secondary words are hidden (container
 * queries in the stylesheet), so the views and the composer's menus are never cut off.
 */
import { downloadIcon, LabIcon, terminalIcon } from '@jupyterlab/ui-components';
import * as React from 'react';
import { branchIcon, forkIcon } from '../icons';
import { ChatModel } from '../model/chatModel';
import { ChatState } from '../model/chatState';
import { formatCost, phaseClass, phaseLabel } from '../model/labels';
import { isBusy, sessionCost } from '../model/selectors';
import { GitInfo, PullRequestInfo } from '../model/types';
import { canRun, UiContext } from './context';
import { SandboxBadge } from './SandboxBadge';
import { SessionBadges } from './PluginFields';

/** The session's branch, with how far it is ahead of / behind its upstream. */
export function BranchBadge(props: { git: GitInfo }): JSX.Element {
  const { git } = props;
  const ahead = git.ahead ?? 0;
  const behind = git.behind ?? 0;
  const title = [
    `branch ${git.branch}`,
    git.is_worktree ? 'in its own worktree' : null,
    ahead || behind ? `${ahead} commit(s) ahead, ${behind} behind its upstream` : null
  ]
    .filter(Boolean)
    .join(', ');
  return (
    <span className="jp-Companion-badge jp-Companion-branch" title={title} aria-label={title}>
      <branchIcon.react tag="span" className="jp-Companion-inlineIcon" /> {git.branch}
      {ahead ? ` ↑${ahead}` : ''}
      {behind ? ` ↓${behind}` : ''}
    </span>
  );
}

const CHECK_MARKS: Record<string, string> = { pass: '✓', fail: '✗', pending: '…', none: '' };
const REVIEW_TEXT: Record<string, string> = {
  approved: 'approved',
  changes_requested: 'changes requested',
  review_required: 'review required'
};

/** The pull request of the session's branch: number, state, checks, review (links to it). */
export function PullRequestBadge(props: { pr?: PullRequestInfo | null }): JSX.Element | null {
  const pr = props.pr;
  if (!pr?.available || !pr.number) {
    return null;
  }
  const state = pr.is_draft && pr.state === 'open' ? 'draft' : pr.state ?? 'unknown';
  const checks = pr.checks && pr.checks.state !== 'none' ? pr.checks : null;
  const details = [
    `Pull request #${pr.number}: ${pr.title ?? ''}`.trim(),
    `state: ${state}`,
    checks ? `checks: ${checks.passed} passed, ${checks.failed} failed, ${checks.pending} pending` : null,
    pr.review_decision ? `review: ${REVIEW_TEXT[pr.review_decision] ?? pr.review_decision}` : null
  ].filter(Boolean);
  const label = (
    <>
      PR #{pr.number} {state}
      {checks ? <span className={`jp-Companion-prChecks jp-mod-${checks.state}`}> {CHECK_MARKS[checks.state]}</span> : null}
    </>
  );
  return pr.url ? (
    <a
      className={`jp-Companion-badge jp-Companion-pr jp-mod-${state}`}
      href={pr.url}
      target="_blank"
      rel="noopener noreferrer"
      title={details.join('\n')}
      aria-label={details.join(', ')}
    >
      {label}
    </a>
  ) : (
    <span className={`jp-Companion-badge jp-Companion-pr jp-mod-${state}`} title={details.join('\n')}>
      {label}
    </span>
  );
}

/** A header action: its icon, and its word where there is room for it. */
function HeaderAction(props: {
  label: string;
  text: string;
  title?: string;
  icon: LabIcon;
  disabled?: boolean;
  /** Hidden when the panel is narrow (a secondary action). */
  secondary?: boolean;
  onClick: () => void;
}): JSX.Element {
  const Icon = props.icon.react;
  return (
    <button
      type="button"
      className={`jp-Button jp-mod-styled jp-Companion-headerAction${props.secondary ? ' jp-mod-secondary' : ''}`}
      aria-label={props.label}
      title={props.title ?? props.label}
      disabled={props.disabled}
      onClick={props.onClick}
    >
      <Icon tag="span" className="jp-Companion-inlineIcon" />
      <span className="jp-Companion-actionText">{props.text}</span>
    </button>
  );
}

export interface ChatHeaderProps {
  model: ChatModel;
  state: ChatState;
  connection: string;
  view: 'conversation' | 'changes';
  /** Switch views; without it there is no Changes view (and no tabs). */
  onView?: (view: 'conversation' | 'changes') => void;
  changedCount: number | null;
  onFork?: () => void;
  onExport?: () => void;
  /** Download the CLI protocol recording (for a bug report or a replay). */
  onDownloadRecording?: () => void;
  onOpenTerminal?: () => void;
}

export function ChatHeader(props: ChatHeaderProps): JSX.Element {
  const { model, state, connection, view, onView, changedCount } = props;
  const session = state.session;
  const cost = sessionCost(state);
  const runs = canRun(React.useContext(UiContext)); // forking and a terminal run code
  return (
      <div className="jp-Companion-chatHeader">
        <span className={`jp-Companion-dot ${phaseClass(state.phase)}`} title={phaseLabel(state.phase)} aria-hidden="true" />
        <span className="jp-Companion-chatTitle" title={String(session.name ?? model.sessionId)}>
          {String(session.name ?? model.sessionId)}
        </span>
        <span className="jp-Companion-muted jp-Companion-phase" data-phase={state.phase}>
          {phaseLabel(state.phase)}
        </span>
        {session.git?.branch ? <BranchBadge git={session.git} /> : null}
        <PullRequestBadge pr={session.pr} />
        <SandboxBadge session={session} />
        <SessionBadges session={session as unknown as Record<string, unknown>} />
        {onView ? (
          <span className="jp-Companion-viewTabs" role="tablist" aria-label="Session views">
            <button
              type="button"
              role="tab"
              aria-selected={view === 'conversation'}
              className={`jp-Companion-viewTab${view === 'conversation' ? ' jp-mod-active' : ''}`}
              onClick={() => onView('conversation')}
            >
              Conversation
            </button>
            <button
              type="button"
              role="tab"
              aria-selected={view === 'changes'}
              className={`jp-Companion-viewTab${view === 'changes' ? ' jp-mod-active' : ''}`}
              onClick={() => onView('changes')}
            >
              Changes{changedCount ? <span className="jp-Companion-changedCount"> {changedCount}</span> : null}
            </button>
          </span>
        ) : null}
        <span className="jp-Companion-spacer" />
        {cost ? (
          <span className="jp-Companion-muted jp-Companion-sessionCost" title="Cost of the whole session">
            {formatCost(cost)}
          </span>
        ) : null}
        <span className={`jp-Companion-conn jp-mod-${connection}`} role="status" aria-live="polite">
          {connection}
        </span>
        {connection !== 'connected' ? (
          <button type="button" className="jp-Button jp-mod-styled" aria-label="Reconnect now" onClick={() => model.reconnect()}>
            Reconnect
          </button>
        ) : null}
        {props.onFork && runs && session.cli_session_id ? (
          <HeaderAction
            label="Fork the session"
            text="Fork"
            title="Continue a copy of this conversation in a new session (this one stays as it is)"
            icon={forkIcon}
            disabled={isBusy(state)}
            onClick={props.onFork}
          />
        ) : null}
        {props.onExport ? (
          <HeaderAction
            label="Export the conversation as a notebook"
            text="Export"
            title="Save the conversation as a notebook in the session's folder and open it"
            icon={downloadIcon}
            onClick={props.onExport}
          />
        ) : null}
        {props.onDownloadRecording ? (
          <HeaderAction
            label="Download the recording of the session"
            text="Recording"
            title="Download what the agent's CLI and the server said to each other (JSONL), for a bug report or a replay"
            icon={downloadIcon}
            secondary
            onClick={props.onDownloadRecording}
          />
        ) : null}
        {props.onOpenTerminal && runs ? (
          <HeaderAction
            label="Open a terminal in the session folder"
            text="Terminal"
            icon={terminalIcon}
            onClick={props.onOpenTerminal}
          />
        ) : null}
      </div>
  );
}
