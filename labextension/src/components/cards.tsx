/**
 * Tool-call cards: one renderer per well-known tool, a generic card for MCP
 * and unknown tools. Pure presentational components.
 */
import * as React from 'react';
import { AssistantItem, ToolResult } from '../model/chatState';
import { compactDiff, diffLines, splitLines } from '../model/diff';
import { ToolUseBlock } from '../model/types';
import { FilePath, UiContext } from './context';

type Input = Record<string, unknown>;

function str(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
}

/** Flatten a tool_result's content (string, text blocks or JSON) to text. */
export function resultText(content: unknown): string {
  if (typeof content === 'string') {
    return content;
  }
  if (Array.isArray(content)) {
    return content
      .map(part =>
        typeof part === 'string'
          ? part
          : part && typeof part === 'object' && (part as Input).type === 'text'
            ? str((part as Input).text)
            : JSON.stringify(part)
      )
      .join('\n');
  }
  if (content === undefined || content === null) {
    return '';
  }
  if (typeof content === 'object') {
    const obj = content as Input;
    if (typeof obj.output === 'string') {
      return obj.output;
    }
  }
  return JSON.stringify(content, null, 2);
}

/** The exit code of a Bash result when the backend reports one. */
export function exitCode(result: ToolResult | undefined): number | null {
  if (!result) {
    return null;
  }
  const c = result.content as Input | null;
  if (c && typeof c === 'object' && !Array.isArray(c)) {
    for (const key of ['exit_code', 'exitCode']) {
      if (typeof c[key] === 'number') {
        return c[key] as number;
      }
    }
  }
  const extra = (result as unknown as Input).exitCode;
  if (typeof extra === 'number') {
    return extra;
  }
  const text = resultText(result.content);
  const match = /(?:exit code|Exit code)[:\s]+(-?\d+)/.exec(text);
  if (match) {
    return Number(match[1]);
  }
  return result.isError ? null : 0;
}

/** A human title for a tool name (`mcp__server__tool` → `server · tool`). */
export function toolTitle(name: string): string {
  if (name.startsWith('mcp__')) {
    const [, server, ...rest] = name.split('__');
    return `${server} · ${rest.join('__')}`;
  }
  return name;
}

/** A unified diff view. */
export function DiffView(props: { before: string; after: string; path?: string }): JSX.Element {
  const [full, setFull] = React.useState(false);
  const lines = diffLines(props.before, props.after);
  const shown = full ? lines : compactDiff(lines);
  const added = lines.filter(l => l.op === '+').length;
  const removed = lines.filter(l => l.op === '-').length;
  return (
    <div className="jp-Companion-diff" role="group" aria-label={`Diff${props.path ? ' of ' + props.path : ''}`}>
      <div className="jp-Companion-diffStats">
        <span className="jp-Companion-added">+{added}</span> <span className="jp-Companion-removed">-{removed}</span>
        {shown.length !== lines.length || full ? (
          <button
            type="button"
            className="jp-Companion-linkButton"
            aria-label={full ? 'Show changed lines only' : `Show all ${lines.length} lines`}
            onClick={() => setFull(!full)}
          >
            {full ? 'changes only' : `show all ${lines.length} lines`}
          </button>
        ) : null}
      </div>
      <pre className="jp-Companion-diffBody">
        {shown.map((line, index) => (
          <div
            key={index}
            className={
              line.op === '+'
                ? 'jp-Companion-diffAdd'
                : line.op === '-'
                  ? 'jp-Companion-diffDel'
                  : line.op === '…'
                    ? 'jp-Companion-diffSkip'
                    : 'jp-Companion-diffCtx'
            }
          >
            {line.op === '…' ? `… ${line.text}` : `${line.op} ${line.text}`}
          </div>
        ))}
      </pre>
    </div>
  );
}

/** True inside a permission banner: the tool has not run, show its input only. */
const PreviewContext = React.createContext(false);

function Output(props: { result?: ToolResult; open?: boolean; label?: string }): JSX.Element | null {
  const preview = React.useContext(PreviewContext);
  if (preview || !props.result) {
    return null;
  }
  const text = resultText(props.result.content);
  if (!text) {
    return null;
  }
  const lines = splitLines(text).length;
  return (
    <details className="jp-Companion-toolOutput" open={props.open ?? lines <= 12}>
      <summary>
        {props.label ?? 'Output'} ({lines} line{lines === 1 ? '' : 's'})
      </summary>
      <pre className={props.result.isError ? 'jp-Companion-errorText' : undefined}>{text}</pre>
    </details>
  );
}

interface CardProps {
  block: ToolUseBlock;
  result?: ToolResult;
  children?: AssistantItem[];
  /** A permission request for this call is pending. */
  waiting?: boolean;
}

function BashCard({ block, result }: CardProps): JSX.Element {
  const input = block.input as Input;
  const code = exitCode(result);
  return (
    <>
      {input.description ? <div className="jp-Companion-toolDesc">{str(input.description)}</div> : null}
      <pre className="jp-Companion-command">
        <span aria-hidden="true">$ </span>
        {str(input.command)}
      </pre>
      {input.run_in_background ? <span className="jp-Companion-badge">background</span> : null}
      <Output result={result} />
      {result ? (
        <div className={`jp-Companion-exit ${code === 0 ? 'jp-mod-ok' : 'jp-mod-error'}`}>
          {code === null ? 'failed' : `exit ${code}`}
        </div>
      ) : null}
    </>
  );
}

function EditCard({ block, result }: CardProps): JSX.Element {
  const input = block.input as Input;
  const changes = input.changes;
  if (Array.isArray(changes) || (changes && typeof changes === 'object')) {
    const list: Input[] = Array.isArray(changes)
      ? (changes as Input[])
      : Object.entries(changes as Input).map(([path, v]) => ({ path, ...(v as Input) }) as Input);
    return (
      <>
        <ul className="jp-Companion-changes">
          {list.map((change, index) => (
            <li key={index}>
              <span className="jp-Companion-badge">{str(change.kind ?? change.type ?? 'update')}</span>{' '}
              <FilePath path={change.path ?? change.file_path} />
              {typeof change.diff === 'string' || typeof change.unified_diff === 'string' ? (
                <pre className="jp-Companion-diffBody">{str(change.diff ?? change.unified_diff)}</pre>
              ) : null}
            </li>
          ))}
        </ul>
        {result?.isError ? <Output result={result} /> : null}
      </>
    );
  }
  const edits = Array.isArray(input.edits) ? (input.edits as Input[]) : [input];
  return (
    <>
      <FilePath path={input.file_path} />
      {input.replace_all ? <span className="jp-Companion-badge">replace all</span> : null}
      {edits.map((edit, index) => (
        <DiffView key={index} before={str(edit.old_string)} after={str(edit.new_string)} path={str(input.file_path)} />
      ))}
      {result?.isError ? <Output result={result} /> : null}
    </>
  );
}

function WriteCard({ block, result }: CardProps): JSX.Element {
  const input = block.input as Input;
  return (
    <>
      <FilePath path={input.file_path} /> <span className="jp-Companion-badge">new file</span>
      <DiffView before="" after={str(input.content)} path={str(input.file_path)} />
      {result?.isError ? <Output result={result} /> : null}
    </>
  );
}

function FieldsCard(props: CardProps & { fields: string[]; pathField?: string }): JSX.Element {
  const input = props.block.input as Input;
  return (
    <>
      {props.pathField && input[props.pathField] ? <FilePath path={input[props.pathField]} /> : null}
      <dl className="jp-Companion-fields">
        {props.fields
          .filter(f => input[f] !== undefined && input[f] !== null && input[f] !== '')
          .map(f => (
            <React.Fragment key={f}>
              <dt>{f}</dt>
              <dd>
                <code>{typeof input[f] === 'string' ? str(input[f]) : JSON.stringify(input[f])}</code>
              </dd>
            </React.Fragment>
          ))}
      </dl>
      <Output result={props.result} open={false} />
    </>
  );
}

/** The checklist of a TodoWrite call. */
export function TodoList(props: { todos: unknown }): JSX.Element {
  const todos = Array.isArray(props.todos) ? (props.todos as Input[]) : [];
  return (
    <ul className="jp-Companion-todos" aria-label="Task list">
      {todos.map((todo, index) => {
        const status = str(todo.status);
        return (
          <li key={index} className={`jp-Companion-todo jp-mod-${status || 'pending'}`}>
            <input type="checkbox" readOnly checked={status === 'completed'} aria-label={str(todo.content)} />{' '}
            <span>{status === 'in_progress' ? str(todo.activeForm || todo.content) : str(todo.content)}</span>
          </li>
        );
      })}
    </ul>
  );
}

function TaskCard({ block, result, children }: CardProps): JSX.Element {
  const input = block.input as Input;
  const ui = React.useContext(UiContext);
  return (
    <>
      <div className="jp-Companion-toolDesc">
        {input.subagent_type ? <span className="jp-Companion-badge">{str(input.subagent_type)}</span> : null}{' '}
        {str(input.description)}
      </div>
      {input.prompt ? (
        <details>
          <summary>Prompt</summary>
          <pre>{str(input.prompt)}</pre>
        </details>
      ) : null}
      {children && children.length ? (
        <div className="jp-Companion-subagent" aria-label="Subagent messages">
          {children.map(child => (
            <div key={child.key} className="jp-Companion-subagentMsg">
              {child.blocks.map((b, i) =>
                b.type === 'text' ? (
                  <ui.Markdown key={i} source={str((b as Input).text)} />
                ) : b.type === 'tool_use' ? (
                  <div key={i} className="jp-Companion-badge">
                    {toolTitle(str((b as Input).name))}
                  </div>
                ) : null
              )}
            </div>
          ))}
        </div>
      ) : null}
      <Output result={result} open={false} label="Result" />
    </>
  );
}

function GenericCard({ block, result }: CardProps): JSX.Element {
  return (
    <>
      <pre className="jp-Companion-json">{JSON.stringify(block.input, null, 2)}</pre>
      <Output result={result} open={false} />
    </>
  );
}

/** The body renderer of a tool, by name. */
export function cardKind(name: string): string {
  switch (name) {
    case 'Bash':
    case 'BashOutput':
      return 'bash';
    case 'Edit':
    case 'MultiEdit':
      return 'edit';
    case 'Write':
      return 'write';
    case 'Read':
    case 'NotebookRead':
      return 'read';
    case 'NotebookEdit':
      return 'notebook';
    case 'Glob':
    case 'Grep':
    case 'LS':
      return 'search';
    case 'WebFetch':
    case 'WebSearch':
      return 'web';
    case 'Task':
    case 'Agent':
      return 'task';
    case 'TodoWrite':
      return 'todo';
    default:
      return 'generic';
  }
}

/** One tool call with its result, as a card. */
export function ToolCard(props: CardProps): JSX.Element {
  const { block, result } = props;
  const kind = cardKind(block.name);
  let body: JSX.Element;
  switch (kind) {
    case 'bash':
      body = <BashCard {...props} />;
      break;
    case 'edit':
      body = <EditCard {...props} />;
      break;
    case 'write':
      body = <WriteCard {...props} />;
      break;
    case 'read':
      body = <FieldsCard {...props} pathField="file_path" fields={['offset', 'limit']} />;
      break;
    case 'notebook':
      body = <FieldsCard {...props} pathField="notebook_path" fields={['cell_id', 'edit_mode', 'new_source']} />;
      break;
    case 'search':
      body = <FieldsCard {...props} fields={['pattern', 'path', 'glob', 'type', 'output_mode']} />;
      break;
    case 'web':
      body = <FieldsCard {...props} fields={['url', 'query', 'prompt']} />;
      break;
    case 'task':
      body = <TaskCard {...props} />;
      break;
    case 'todo':
      body = <TodoList todos={(block.input as Input).todos} />;
      break;
    default:
      body = <GenericCard {...props} />;
  }
  const status = result ? (result.isError ? 'error' : 'done') : props.waiting ? 'waiting' : 'running';
  return (
    <div
      className={`jp-Companion-toolCard jp-Companion-tool-${kind} jp-mod-${status}`}
      data-tool={block.name}
      data-tool-use-id={block.id}
    >
      <div className="jp-Companion-toolHeader">
        <span className="jp-Companion-toolName">{toolTitle(block.name)}</span>
        <span className={`jp-Companion-toolStatus jp-mod-${status}`}>{status}</span>
      </div>
      <div className="jp-Companion-toolBody">{body}</div>
    </div>
  );
}

/** The input of a tool call without a result (used by permission banners). */
export function ToolInputPreview(props: { name: string; input: Record<string, unknown> }): JSX.Element {
  const block: ToolUseBlock = { type: 'tool_use', id: '', name: props.name, input: props.input ?? {} };
  const kind = cardKind(props.name);
  let body: JSX.Element;
  switch (kind) {
    case 'bash':
      body = <BashCard block={block} />;
      break;
    case 'edit':
      body = <EditCard block={block} />;
      break;
    case 'write':
      body = <WriteCard block={block} />;
      break;
    case 'read':
      body = <FieldsCard block={block} pathField="file_path" fields={['offset', 'limit']} />;
      break;
    case 'notebook':
      body = <FieldsCard block={block} pathField="notebook_path" fields={['cell_id', 'edit_mode', 'new_source']} />;
      break;
    case 'search':
      body = <FieldsCard block={block} fields={['pattern', 'path', 'glob', 'type', 'output_mode']} />;
      break;
    case 'web':
      body = <FieldsCard block={block} fields={['url', 'query', 'prompt']} />;
      break;
    default:
      body = <GenericCard block={block} />;
  }
  return (
    <PreviewContext.Provider value={true}>
      <div className={`jp-Companion-toolPreview jp-Companion-tool-${kind}`}>{body}</div>
    </PreviewContext.Provider>
  );
}
