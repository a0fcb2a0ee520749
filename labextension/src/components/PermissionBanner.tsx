/**
 * A banner per pending permission request: the tool input, Allow, Deny (with
 * an optional message), one button per CLI suggestion; AskUserQuestion and
 * ExitPlanMode get their own interactive forms.
 */
import * as React from 'react';
import { PermissionAnswer } from '../model/chatModel';
import { PermissionRequest } from '../model/types';
import { ToolInputPreview, toolTitle } from './cards';
import { canRun, UiContext } from './context';

type Input = Record<string, unknown>;

export type RespondFn = (requestId: string, behavior: 'allow' | 'deny', answer?: PermissionAnswer) => void;

/** A short label for a CLI permission suggestion. */
export function describeSuggestion(suggestion: unknown): string {
  if (!suggestion || typeof suggestion !== 'object') {
    return String(suggestion);
  }
  const s = suggestion as Input;
  const where =
    s.destination === 'session'
      ? ' for this session'
      : s.destination === 'localSettings' || s.destination === 'projectSettings'
        ? ' in this project'
        : s.destination === 'userSettings'
          ? ' always'
          : '';
  if (typeof s.label === 'string') {
    return s.label;
  }
  switch (s.type) {
    case 'addRules':
    case 'replaceRules': {
      const rules = Array.isArray(s.rules) ? (s.rules as Input[]) : [];
      const names = rules
        .map(r => (r.ruleContent ? `${r.toolName}(${r.ruleContent})` : String(r.toolName ?? '')))
        .filter(Boolean)
        .join(', ');
      const verb = s.behavior === 'deny' ? 'Deny' : 'Allow';
      return `${verb} ${names || 'these'}${where}`;
    }
    case 'setMode':
      return `Switch to ${String(s.mode)} mode${where}`;
    case 'addDirectories':
      return `Trust ${(Array.isArray(s.directories) ? s.directories : []).join(', ')}${where}`;
    default:
      return `${String(s.type ?? 'Apply suggestion')}${where}`;
  }
}

interface Question {
  question: string;
  header?: string;
  multiSelect?: boolean;
  options: { label: string; description?: string }[];
}

function AskUserQuestionForm(props: { request: PermissionRequest; respond: RespondFn; busy: boolean }): JSX.Element {
  const questions: Question[] = Array.isArray(props.request.input.questions)
    ? (props.request.input.questions as Question[])
    : [];
  const [answers, setAnswers] = React.useState<Record<string, string[]>>({});
  const toggle = (q: Question, label: string) => {
    const current = answers[q.question] ?? [];
    const next = q.multiSelect
      ? current.includes(label)
        ? current.filter(l => l !== label)
        : [...current, label]
      : [label];
    setAnswers({ ...answers, [q.question]: next });
  };
  const complete = questions.every(q => (answers[q.question] ?? []).length > 0);
  return (
    <div className="jp-Companion-question">
      {questions.map(q => (
        <fieldset key={q.question}>
          <legend>{q.header ? `${q.header}: ` : ''}{q.question}</legend>
          {(q.options ?? []).map(option => (
            <label key={option.label} className="jp-Companion-option">
              <input
                type={q.multiSelect ? 'checkbox' : 'radio'}
                name={`${props.request.request_id}-${q.question}`}
                checked={(answers[q.question] ?? []).includes(option.label)}
                onChange={() => toggle(q, option.label)}
              />
              {option.label}
              {option.description ? <span className="jp-Companion-muted"> — {option.description}</span> : null}
            </label>
          ))}
        </fieldset>
      ))}
      <button
        type="button"
        className="jp-Button jp-mod-styled jp-mod-accept"
        disabled={!complete || props.busy}
        aria-label="Send answers"
        onClick={() => {
          const flat: Record<string, string> = {};
          for (const q of questions) {
            flat[q.question] = (answers[q.question] ?? []).join(', ');
          }
          props.respond(props.request.request_id, 'allow', {
            updated_input: { ...props.request.input, answers: flat }
          });
        }}
      >
        Answer
      </button>
    </div>
  );
}

/** One pending request. */
export function PermissionBanner(props: {
  request: PermissionRequest;
  respond: RespondFn;
  answered?: boolean;
  /** Why the server refused the last answer sent from this view (the user may answer again). */
  error?: string | null;
}): JSX.Element {
  const { request, respond } = props;
  const ui = React.useContext(UiContext);
  const [denyMessage, setDenyMessage] = React.useState('');
  const [showDeny, setShowDeny] = React.useState(false);
  const reasonField = React.useRef<HTMLInputElement>(null);
  // the reason field takes the keyboard as soon as it shows: what the user types next goes there
  React.useEffect(() => {
    if (showDeny) {
      reasonField.current?.focus();
    }
  }, [showDeny]);
  const busy = props.answered === true;
  const id = request.request_id;
  const suggestions = Array.isArray(request.suggestions) ? request.suggestions : [];
  const isQuestion = request.tool_name === 'AskUserQuestion';
  const isPlan = request.tool_name === 'ExitPlanMode';
  const title = isQuestion
    ? 'Question from the agent'
    : isPlan
      ? 'The agent proposes a plan'
      : `Allow ${toolTitle(request.tool_name)}?`;
  return (
    <div
      className="jp-Companion-permission"
      role="alertdialog"
      aria-label={title}
      data-request-id={id}
      data-tool={request.tool_name}
    >
      <div className="jp-Companion-permissionTitle">{title}</div>
      {request.description && request.description !== request.input.description ? (
        <div className="jp-Companion-muted">{String(request.description)}</div>
      ) : null}
      {isQuestion ? (
        <AskUserQuestionForm request={request} respond={respond} busy={busy || !canRun(ui)} />
      ) : isPlan ? (
        <div className="jp-Companion-plan">
          <ui.Markdown source={String(request.input.plan ?? '')} />
        </div>
      ) : (
        <ToolInputPreview name={request.tool_name} input={request.input} />
      )}
      {request.held ? (
        <div className="jp-Companion-muted">
          Kept over a server restart: the agent that asked has stopped; answering resumes it.
        </div>
      ) : null}
      {!canRun(ui) ? (
        <div className="jp-Companion-muted">Waiting for someone who may run the agent here to answer.</div>
      ) : (
      <div className="jp-Companion-permissionButtons">
        {!isQuestion ? (
          <button
            type="button"
            className="jp-Button jp-mod-styled jp-mod-accept"
            disabled={busy}
            aria-label={isPlan ? 'Approve plan' : `Allow ${request.tool_name}`}
            onClick={() => respond(id, 'allow', { updated_input: request.input })}
          >
            {isPlan ? 'Approve' : 'Allow'}
          </button>
        ) : null}
        {suggestions.map((suggestion, index) => {
          const label = describeSuggestion(suggestion);
          return (
            <button
              key={index}
              type="button"
              className="jp-Button jp-mod-styled"
              disabled={busy}
              aria-label={label}
              onClick={() => respond(id, 'allow', { updated_input: request.input, updated_permissions: [suggestion] })}
            >
              {label}
            </button>
          );
        })}
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-reject"
          disabled={busy}
          aria-label={isPlan ? 'Reject plan' : `Deny ${request.tool_name}`}
          onClick={() => (showDeny ? respond(id, 'deny', { message: denyMessage.trim() || 'Denied by the user' }) : setShowDeny(true))}
        >
          {isPlan ? 'Reject' : 'Deny'}
        </button>
      </div>
      )}
      {showDeny ? (
        <div className="jp-Companion-denyRow">
          <input
            ref={reasonField}
            type="text"
            className="jp-mod-styled"
            placeholder="Tell the agent why (optional), then press Enter or Deny again; Escape goes back"
            aria-label="Reason for denying"
            value={denyMessage}
            disabled={busy}
            onChange={e => setDenyMessage(e.target.value)}
            onKeyDown={e => {
              if (e.key === 'Enter') {
                e.preventDefault();
                respond(id, 'deny', { message: denyMessage.trim() || 'Denied by the user' });
              } else if (e.key === 'Escape') {
                e.preventDefault();
                e.stopPropagation(); // not the composer's "stop the turn"
                setShowDeny(false);
              }
            }}
          />
        </div>
      ) : null}
      {busy ? <div className="jp-Companion-muted">Sent, waiting for the agent…</div> : null}
      {props.error && !busy ? (
        <div className="jp-Companion-commandError" role="alert">
          The answer was not accepted: {props.error}
        </div>
      ) : null}
    </div>
  );
}
