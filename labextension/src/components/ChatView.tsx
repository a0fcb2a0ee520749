/**
 * The chat of one session: header (`ChatHeader`), transcript, streaming draft, working
 * indicator, queued prompts, permission banners and the composer.
 */
import * as React from 'react';
import { ChangesModel } from '../model/changes';
import { ChatModel } from '../model/chatModel';
import { AssistantItem, ChatState, ResultItem, TranscriptItem } from '../model/chatState';
import {
  childrenByParent,
  isBusy,
  isQueuedEcho,
  pendingList,
  queuedPrompts,
  retryableError,
  workingStatus
} from '../model/selectors';
import { ToolUseBlock } from '../model/types';
import { formatCost } from '../model/labels';
import { ToolCard } from './cards';
import { ChatHeader } from './ChatHeader';
import { ChangesView } from './ChangesView';
import { Composer } from './Composer';
import { canRun, UiContext } from './context';
import { PermissionBanner } from './PermissionBanner';
import { QueuedPrompts } from './QueuedPrompts';
import { VirtualList } from './VirtualList';
import { WorkingIndicator } from './WorkingIndicator';

function tokens(usage: Record<string, unknown> | undefined): string {
  if (!usage) {
    return '';
  }
  const input = Number(usage.input_tokens ?? 0);
  const output = Number(usage.output_tokens ?? 0);
  if (!input && !output) {
    return '';
  }
  return `${input} in / ${output} out tokens`;
}

/** How a turn ended, in words: stopped by the user is not a failure. */
export function resultLabel(item: ResultItem): string {
  if (item.interrupted) {
    return 'Stopped';
  }
  return item.isError ? 'Turn failed' : 'Turn done';
}

function ResultLine({ item }: { item: ResultItem }): JSX.Element {
  const failed = item.isError && !item.interrupted;
  const parts = [
    resultLabel(item),
    item.durationMs !== undefined ? `${(item.durationMs / 1000).toFixed(1)} s` : '',
    formatCost(item.costUsd),
    tokens(item.usage)
  ].filter(Boolean);
  return (
    <div
      className={`jp-Companion-result ${failed ? 'jp-mod-error' : ''} ${item.interrupted ? 'jp-mod-stopped' : ''}`}
      data-seq={item.seq}
    >
      {parts.join(' · ')}
      {failed && item.text ? <div>{item.text}</div> : null}
    </div>
  );
}

function AssistantMessage(props: {
  item: AssistantItem;
  state: ChatState;
  children: Record<string, AssistantItem[]>;
}): JSX.Element {
  const ui = React.useContext(UiContext);
  const { item, state } = props;
  return (
    <div
      className={`jp-Companion-msg jp-Companion-assistant${item.incomplete ? ' jp-mod-incomplete' : ''}`}
      data-seq={item.seq}
    >
      {item.blocks.map((block, index) => {
        if (block.type === 'text') {
          return <ui.Markdown key={index} source={String((block as { text: string }).text ?? '')} />;
        }
        if (block.type === 'thinking') {
          return (
            <details key={index} className="jp-Companion-thinking">
              <summary>Thinking</summary>
              <div className="jp-Companion-thinkingText">{String((block as { thinking: string }).thinking ?? '')}</div>
            </details>
          );
        }
        if (block.type === 'tool_use') {
          const tool = block as ToolUseBlock;
          return (
            <ToolCard
              key={tool.id || index}
              block={tool}
              result={state.toolResults[tool.id]}
              children={props.children[tool.id]}
              waiting={state.pendingOrder.some(id => state.pending[id]?.tool_use_id === tool.id)}
            />
          );
        }
        return null;
      })}
      {item.incomplete ? <div className="jp-Companion-muted">The agent stopped here (its CLI ended).</div> : null}
    </div>
  );
}

function Item(props: {
  item: TranscriptItem;
  state: ChatState;
  children: Record<string, AssistantItem[]>;
  onRetry?: (clientMsgId: string) => void;
  /** Send the last prompt again, offered on the error of a CLI that died mid-answer. */
  onRetryPrompt?: () => void;
}): JSX.Element | null {
  const ui = React.useContext(UiContext);
  const { item } = props;
  switch (item.kind) {
    case 'user': {
      const command = item.clientMsgId ? props.state.commands[item.clientMsgId] : undefined;
      const delivery = item.local ? command?.status ?? 'sending' : 'stored';
      return (
        <div
          className={`jp-Companion-msg jp-Companion-user ${item.local ? 'jp-mod-local' : ''} ${delivery === 'failed' ? 'jp-mod-failed' : ''}`}
          data-seq={item.seq ?? ''}
          data-delivery={delivery}
        >
          <ui.Markdown source={item.content} />
          {item.images?.map((img, i) => (
            <img key={i} className="jp-Companion-userImage" src={`data:${img.media_type};base64,${img.data}`} alt="attached" />
          ))}
          {delivery === 'failed' ? (
            <div className="jp-Companion-commandError" role="alert">
              Not delivered: {command?.error}
              {props.onRetry && item.clientMsgId ? (
                <button
                  type="button"
                  className="jp-Button jp-mod-styled"
                  aria-label="Send this message again"
                  onClick={() => props.onRetry?.(item.clientMsgId as string)}
                >
                  Retry
                </button>
              ) : null}
            </div>
          ) : null}
        </div>
      );
    }
    case 'assistant':
      return <AssistantMessage item={item} state={props.state} children={props.children} />;
    case 'result':
      return <ResultLine item={item} />;
    case 'error':
      return (
        <div className="jp-Companion-error" role="alert" data-code={item.code ?? ''}>
          {item.message}
          {props.onRetryPrompt ? (
            <button
              type="button"
              className="jp-Button jp-mod-styled jp-mod-accept"
              aria-label="Send the last message again"
              onClick={props.onRetryPrompt}
            >
              Retry
            </button>
          ) : null}
        </div>
      );
    case 'notice':
      return (
        <div className={`jp-Companion-notice jp-mod-${item.level}`} data-code={item.code ?? ''}>
          {item.message}
        </div>
      );
    case 'system':
      return <div className="jp-Companion-system">{item.text}</div>;
  }
}

/** The slash commands and skills offered by the composer (session object first, then session_init). */
export function slashCommandsOf(state: ChatState): string[] {
  const pick = (value: unknown, fallback: string[] | undefined): string[] =>
    Array.isArray(value) && value.length ? value.filter(v => typeof v === 'string') : fallback ?? [];
  const out = [
    ...pick(state.session.slash_commands, state.init?.slashCommands),
    ...pick(state.session.skills, state.init?.skills)
  ];
  return Array.from(new Set(out.map(c => c.replace(/^\//, ''))));
}

/** What each slash command does, by name (from the CLI's own list, when it gives one). */
export function commandInfoOf(state: ChatState): Record<string, { description?: string; argument_hint?: string }> {
  const out: Record<string, { description?: string; argument_hint?: string }> = {};
  const listed = state.session.commands;
  for (const c of Array.isArray(listed) ? listed : []) {
    if (c && typeof c === 'object' && typeof (c as { name?: unknown }).name === 'string') {
      const { name, description, argument_hint } = c as { name: string; description?: string; argument_hint?: string };
      out[name.replace(/^\//, '')] = { description, argument_hint };
    }
  }
  return out;
}

/** A sentence for a failed model / mode switch or interrupt. */
export function describeControlError(type: string, message: string): string {
  const what =
    type === 'set_model'
      ? 'change the model'
      : type === 'set_permission_mode'
        ? 'change the permission mode'
        : type === 'interrupt'
          ? 'interrupt the agent'
          : type;
  return `Could not ${what}: ${message}`;
}

const itemKey = (item: TranscriptItem): string => item.key;

export interface ChatViewProps {
  model: ChatModel;
  models?: { id: string; label: string }[];
  onOpenTerminal?: () => void;
  /** The session's changed files; adds the "Changes" view when given. */
  changes?: ChangesModel;
  /** Save the conversation as a notebook (and open it); adds the "Export" button when given. */
  onExport?: () => void;
  /** Download the session's CLI recording; adds the "Recording" button when given. */
  onDownloadRecording?: () => void;
  /** Continue a copy of the conversation in a new session; adds the "Fork" button once the CLI has a conversation. */
  onFork?: () => void;
}

/** The user's prompts in order, repeats in a row collapsed (for Up/Down in the composer). */
export function promptHistory(items: TranscriptItem[]): string[] {
  const prompts: string[] = [];
  for (const item of items) {
    if (item.kind === 'user' && item.content.trim() && prompts[prompts.length - 1] !== item.content) {
      prompts.push(item.content);
    }
  }
  return prompts;
}

/** Re-render when the changes model changes (no-op without one). */
function useChangesCount(changes: ChangesModel | undefined): number | null {
  const [, setTick] = React.useState(0);
  React.useEffect(() => changes?.subscribe(() => setTick(t => t + 1)), [changes]);
  return changes?.state.files ? changes.state.files.length : null;
}

/** Subscribe to a ChatModel and re-render on change. */
function useChat(model: ChatModel): [ChatState, string, number] {
  const [, setTick] = React.useState(0);
  React.useEffect(() => model.subscribe(() => setTick(t => t + 1)), [model]);
  return [model.state, model.connection, model.answered.size];
}

export function ChatView(props: ChatViewProps): JSX.Element {
  const ui = React.useContext(UiContext);
  const { model } = props;
  const [state, connection] = useChat(model);
  const changedCount = useChangesCount(props.changes);
  const [view, setView] = React.useState<'conversation' | 'changes'>('conversation');
  const showView = (next: 'conversation' | 'changes') => {
    setView(next);
    if (next === 'changes') {
      void props.changes?.refresh();
    }
  };
  const children = React.useMemo(() => childrenByParent(state.items), [state.items]);
  const top = React.useMemo(() => {
    const toolIds = new Set<string>();
    for (const item of state.items) {
      if (item.kind === 'assistant') {
        for (const b of item.blocks) {
          if (b.type === 'tool_use') {
            toolIds.add(String((b as ToolUseBlock).id));
          }
        }
      }
    }
    return state.items.filter(
      it => !isQueuedEcho(it) && !(it.kind === 'assistant' && it.parentToolUseId && toolIds.has(it.parentToolUseId))
    );
  }, [state.items]);
  const pending = pendingList(state);
  const busy = isBusy(state);
  const working = workingStatus(state);
  const session = state.session;
  const lastLocal = React.useMemo(() => {
    for (let i = state.items.length - 1; i >= 0; i--) {
      const item = state.items[i];
      if (item.kind === 'user' && item.local) {
        return item.key;
      }
    }
    return null;
  }, [state.items]);
  const retry = React.useCallback((id: string) => model.retryMessage(id), [model]);
  const retryPrompt = React.useCallback(() => model.retryLastPrompt(), [model]);
  const retryableSeq = retryableError(state);
  const renderItem = (item: TranscriptItem) => (
    <Item
      item={item}
      state={state}
      children={children}
      onRetry={retry}
      onRetryPrompt={item.kind === 'error' && item.seq === retryableSeq ? retryPrompt : undefined}
    />
  );

  const commands = slashCommandsOf(state);
  const history = React.useMemo(() => promptHistory(state.items), [state.items]);
  return (
    <div className="jp-Companion-chat" data-session-id={model.sessionId} data-phase={state.phase} data-connection={connection}>
      <ChatHeader
        model={model}
        state={state}
        connection={connection}
        view={view}
        onView={props.changes ? showView : undefined}
        changedCount={changedCount}
        onFork={props.onFork}
        onExport={props.onExport}
        onDownloadRecording={props.onDownloadRecording}
        onOpenTerminal={props.onOpenTerminal}
      />
      {view === 'changes' && props.changes ? <ChangesView model={props.changes} /> : (
      <VirtualList
        className="jp-Companion-transcript"
        role="log"
        aria-label="Conversation"
        items={top}
        itemKey={itemKey}
        renderItem={renderItem}
        followKey={lastLocal}
        footer={
          <>
            {state.streaming ? (
              <div className="jp-Companion-msg jp-Companion-assistant jp-Companion-draft" aria-busy="true">
                {state.streaming.thinking ? (
                  <details className="jp-Companion-thinking">
                    <summary>Thinking…</summary>
                    <div className="jp-Companion-thinkingText">{state.streaming.thinking}</div>
                  </details>
                ) : null}
                {state.streaming.text ? <div className="jp-Companion-draftText">{state.streaming.text}</div> : null}
              </div>
            ) : null}
            {working ? <WorkingIndicator status={working} /> : null}
            <QueuedPrompts prompts={queuedPrompts(state)} onCancel={id => model.cancelQueued(id)} />
            {state.transientError ? (
              <div className="jp-Companion-error" role="alert">
                {state.transientError}
              </div>
            ) : null}
          </>
        }
      />
      )}
      {pending.length ? (
        <div className="jp-Companion-permissions">
          {pending.map(request => (
            <PermissionBanner
              key={request.request_id}
              request={request}
              answered={model.answered.has(request.request_id)}
              error={model.permissionError(request.request_id)}
              respond={(id, behavior, answer) => model.respond(id, behavior, answer)}
            />
          ))}
        </div>
      ) : null}
      {!canRun(ui) ? (
        <div className="jp-Companion-watchOnly" role="status">
          {ui.access?.write
            ? 'You can follow and tidy this session, but not prompt the agent: that runs code and needs the "execute" permission here.'
            : 'Watch-only: you can follow this session live. Prompting, approving and changing it are up to the server\'s owner.'}
        </div>
      ) : (
      <Composer
        busy={busy}
        commands={commands}
        commandInfo={commandInfoOf(state)}
        models={props.models ?? []}
        model={(session.model as string | undefined) ?? state.init?.model}
        mode={(session.permission_mode as string | undefined) ?? state.init?.permissionMode}
        onSend={(text, images) =>
          model.sendMessage(
            text,
            images.map(i => ({ media_type: i.media_type, data: i.data }))
          )
        }
        error={state.controlError ? describeControlError(state.controlError.type, state.controlError.message) : null}
        history={history}
        loadPrompts={ui.savedPrompts}
        onInterrupt={() => model.interrupt()}
        onModel={m => model.setModel(m)}
        onMode={m => model.setPermissionMode(m)}
      />
      )}
    </div>
  );
}
