/**
 * JupyterLab widgets wrapping the React components: the sessions sidebar,
 * the chat tab of a session and the new-session modal.
 */
import { ReactWidget, showErrorMessage } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import * as React from 'react';
import { CompanionApi } from './api';
import { ChatView } from './components/ChatView';
import { UiContext, UiServices } from './components/context';
import { NewSessionForm } from './components/NewSessionForm';
import { SessionsList } from './components/SessionsList';
import { ChangesModel, changesKey } from './model/changes';
import { ChatModel } from './model/chatModel';
import { SessionConnection, feedSocketUrl } from './model/connection';
import { Attention, applyFeedFrame, attentionChange } from './model/sessionsFeed';
import { LiveSession, liveSignature, mergeLive } from './model/sessionsLive';
import { ArchiveAnswer, BackendInfo, SessionInfo } from './model/types';
import { SessionChoices } from './components/NewSessionForm';
import { PluginCalls } from './components/PluginFields';
import { Contribution, ofKind } from './model/contributions';
import { CompanionSettings, DEFAULT_SETTINGS, resolveSettings } from './model/settings';

/** Markdown rendered by JupyterLab's rendermime (untrusted: sanitized). */
export function makeMarkdown(rendermime: IRenderMimeRegistry): React.ComponentType<{ source: string }> {
  return function RenderedMarkdown(props: { source: string }): JSX.Element {
    const host = React.useRef<HTMLDivElement>(null);
    React.useEffect(() => {
      const node = host.current;
      if (!node) {
        return;
      }
      const renderer = rendermime.createRenderer('text/markdown');
      const model = rendermime.createModel({ data: { 'text/markdown': props.source }, trusted: false });
      let disposed = false;
      renderer
        .renderModel(model)
        .then(() => {
          if (!disposed) {
            node.replaceChildren(renderer.node);
          }
        })
        .catch(() => {
          if (!disposed) {
            node.textContent = props.source;
          }
        });
      return () => {
        disposed = true;
        renderer.dispose();
      };
    }, [props.source]);
    return <div className="jp-Companion-markdown" ref={host} />;
  };
}

/** Shared services of the extension (one per app). */
export interface CompanionServices {
  api: CompanionApi;
  ui: UiServices;
  settings: () => CompanionSettings;
  backends: () => Promise<BackendInfo[]>;
}

export type { CompanionSettings };
export { DEFAULT_SETTINGS, resolveSettings };

/** Calls to plugin routes through the authenticated API client. */
export function pluginCalls(api: CompanionApi): PluginCalls {
  return { get: (url, query) => api.pluginGet(url, query), post: (url, body) => api.pluginPost(url, body) };
}

/** Sandboxes, env profile names and server defaults for the New-session form (failures → empty). */
export async function loadSessionChoices(api: CompanionApi): Promise<SessionChoices> {
  const [status, profiles, settings, sandboxProfiles] = await Promise.allSettled([
    api.status(),
    api.envProfileNames(),
    api.serverSettings(),
    api.sandboxProfiles()
  ]);
  const values = settings.status === 'fulfilled' ? settings.value.settings ?? {} : {};
  const contributions = await api.contributions().catch(() => [] as Contribution[]);
  const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);
  return {
    sandboxes: status.status === 'fulfilled' ? status.value.sandboxes ?? [] : [],
    envProfiles: profiles.status === 'fulfilled' ? profiles.value : [],
    sandboxProfiles: sandboxProfiles.status === 'fulfilled' ? sandboxProfiles.value : [],
    defaults: { permission_mode: text(values.default_permission_mode), model: text(values.default_model) },
    fields: ofKind(contributions, 'create_field'),
    calls: pluginCalls(api)
  };
}

/**
 * The left-area sidebar listing sessions. It follows the sessions feed
 * (`companion/ws/sessions`) and polls `GET sessions` only while the feed is
 * not connected.
 */
export class SessionsPanel extends ReactWidget {
  private sessions: SessionInfo[] | null = null;
  private error: string | null = null;
  private showArchived = false;
  private timer: number | null = null;
  private feed: SessionConnection | null = null;
  private live = new Map<string, LiveSession>();
  private liveKeys = new Map<string, string>();
  activeId: string | null = null;

  constructor(
    private readonly services: CompanionServices,
    private readonly handlers: {
      onNew: () => void;
      onAgents?: () => void;
      onRuns?: () => void;
      onIntegrations?: () => void;
      /** What plugins ask before a session is archived (null: cancelled). */
      askArchive?: (session: SessionInfo) => Promise<Record<string, string> | null>;
      onOpen: (session: SessionInfo) => void;
      confirmDelete: (session: SessionInfo) => Promise<boolean>;
      onError: (message: string) => void;
      /** A session's pending permission requests changed (from the sessions feed). */
      onAttention?: (session: SessionInfo, attention: Attention) => void;
      /** A session was deleted (here, in another tab or by another client). */
      onRemoved?: (sessionId: string) => void;
      /** A session was archived from this list (the answer says whether its worktree was kept). */
      onArchived?: (session: SessionInfo, answer: ArchiveAnswer) => void;
    }
  ) {
    super();
    this.addClass('jp-Companion-sidebarPanel');
    this.id = 'jupyter-companion-sessions';
    this.title.caption = 'Agent sessions';
  }

  /** Archive a session, after asking what its plugins want to know (a Linear issue's next state). */
  private async archive(session: SessionInfo): Promise<void> {
    const choices = this.handlers.askArchive ? await this.handlers.askArchive(session) : {};
    if (choices === null) {
      return;
    }
    await this.act(this.services.api.archive(session.id, false, choices)
      .then(answer => this.handlers.onArchived?.(session, answer)));
  }

  /** The folders of the listed sessions, most recently active first, as absolute server paths. */
  recentFolders(limit = 10): string[] {
    const time = (s: SessionInfo) => Date.parse(String(s.last_activity_at ?? s.created_at ?? '')) || 0;
    const sorted = (this.sessions ?? []).slice().sort((a, b) => time(b) - time(a));
    return Array.from(new Set(sorted.map(s => s.cwd).filter(Boolean))).slice(0, limit);
  }

  /** Reload the list now. */
  async refresh(): Promise<void> {
    try {
      const answer = await this.services.api.listSessions(this.showArchived ? 'all' : 'false');
      this.sessions = answer.sessions ?? [];
      this.error = null;
    } catch (err: any) {
      this.error = `Cannot list sessions: ${err?.message ?? err}`;
    }
    this.update();
  }

  /**
   * Live data of a session open in a chat tab (null when its socket is not connected).
   * Re-renders only when something the sidebar shows changed.
   */
  setLive(id: string, live: LiveSession | null): void {
    const key = liveSignature(live);
    if (this.liveKeys.get(id) === key) {
      return;
    }
    this.liveKeys.set(id, key);
    if (live) {
      this.live.set(id, live);
    } else {
      this.live.delete(id);
    }
    const known = this.sessions?.some(s => s.id === id) ?? false;
    if (live && this.sessions && !known && !live.archived) {
      void this.refresh(); // a session this list has not seen yet
    } else {
      this.update();
    }
  }

  /** The sessions as shown: polled list with live fields applied. */
  get shown(): SessionInfo[] | null {
    if (!this.sessions) {
      return null;
    }
    const merged = mergeLive(this.sessions, this.live);
    return this.showArchived ? merged : merged.filter(s => !s.archived);
  }

  /** True while the sessions feed keeps the list live. */
  get feedConnected(): boolean {
    return this.feed?.state === 'connected';
  }

  protected onAfterAttach(msg: any): void {
    super.onAfterAttach(msg);
    void this.refresh();
    this.schedule();
    this.follow();
    document.addEventListener('visibilitychange', this.onVisibility);
  }

  protected onBeforeDetach(msg: any): void {
    if (this.timer !== null) {
      window.clearTimeout(this.timer);
      this.timer = null;
    }
    this.feed?.dispose();
    this.feed = null;
    document.removeEventListener('visibilitychange', this.onVisibility);
    super.onBeforeDetach(msg);
  }

  /** Catch up at once when the browser tab becomes visible again. */
  private onVisibility = (): void => {
    if (document.visibilityState === 'visible' && this.isVisible) {
      void this.refresh();
    }
  };

  /** Open the sessions feed; each frame updates the list in place. */
  private follow(): void {
    const { wsUrl, token } = this.services.api.settings;
    this.feed = new SessionConnection({
      wsUrl,
      token,
      sessionId: '',
      lastSeq: () => 0,
      socketUrl: () => feedSocketUrl(wsUrl, token),
      onEvent: frame => {
        const next = applyFeedFrame(this.sessions, frame);
        this.noticeAttention(frame, this.sessions, next);
        if (frame.type === 'session_removed' && typeof frame.session_id === 'string') {
          this.handlers.onRemoved?.(frame.session_id);
        }
        if (next !== this.sessions) {
          this.sessions = next;
          this.error = null;
          this.update();
        }
      }
    });
    this.feed.connect();
  }

  /** Report new and settled permission requests of one feed frame (not of the snapshot). */
  private noticeAttention(frame: { type: string; [key: string]: unknown }, before: SessionInfo[] | null, after: SessionInfo[] | null): void {
    const id =
      frame.type === 'session_changed' ? (frame.session as SessionInfo | undefined)?.id : frame.type === 'session_removed' ? frame.session_id : null;
    if (typeof id !== 'string' || !this.handlers.onAttention || before === null) {
      return;
    }
    const old = before.find(s => s.id === id);
    const now = after?.find(s => s.id === id);
    const attention = attentionChange(old, now);
    if (attention.asked.length || attention.settled.length || attention.turnEnded) {
      this.handlers.onAttention((now ?? old) as SessionInfo, attention);
    }
  }

  private schedule(): void {
    const seconds = Math.max(1, this.services.settings().refreshInterval || DEFAULT_SETTINGS.refreshInterval);
    this.timer = window.setTimeout(async () => {
      if (this.isVisible && !this.feedConnected) {
        await this.refresh();
      }
      this.schedule();
    }, seconds * 1000);
  }

  private async act(promise: Promise<unknown>): Promise<void> {
    try {
      await promise;
    } catch (err: any) {
      this.handlers.onError(String(err?.message ?? err));
    }
    await this.refresh();
  }

  render(): JSX.Element {
    const api = this.services.api;
    return (
      <UiContext.Provider value={this.services.ui}>
      <SessionsList
        sessions={this.shown}
        error={this.error}
        showArchived={this.showArchived}
        activeId={this.activeId}
        onToggleArchived={value => {
          this.showArchived = value;
          void this.refresh();
        }}
        onNew={this.handlers.onNew}
        onAgents={this.handlers.onAgents}
        onRuns={this.handlers.onRuns}
        onIntegrations={this.handlers.onIntegrations}
        onRefresh={() => void this.refresh()}
        onOpen={this.handlers.onOpen}
        onRename={(s, name) => void this.act(api.rename(s.id, name))}
        onArchive={s => void this.archive(s)}
        onUnarchive={s => void this.act(api.action(s.id, 'unarchive'))}
        onRelaunch={s => void this.act(api.action(s.id, 'relaunch'))}
        onDelete={async s => {
          if (await this.handlers.confirmDelete(s)) {
            await this.act(api.remove(s.id).then(() => this.handlers.onRemoved?.(s.id)));
          }
        }}
      />
      </UiContext.Provider>
    );
  }
}

/** The chat tab of one session. */
export class ChatPanel extends ReactWidget {
  readonly model: ChatModel;
  readonly changes: ChangesModel;
  private models: { id: string; label: string }[] = [];
  private changesSeen = '';

  constructor(
    readonly session: SessionInfo,
    private readonly services: CompanionServices,
    private readonly actions: {
      /** Open a JupyterLab terminal in the session's folder. */
      openTerminal?: (session: SessionInfo) => void;
      /** Open another session's chat (a fork of this one). */
      openSession?: (session: SessionInfo) => void;
    } = {}
  ) {
    super();
    this.addClass('jp-Companion-chatPanel');
    this.id = `jupyter-companion-chat-${session.id}`;
    this.title.label = session.name || session.id;
    this.title.caption = `${session.name} — ${session.backend} — ${session.cwd}`;
    this.title.closable = true;
    const settings = services.api.settings;
    this.model = new ChatModel({
      sessionId: session.id,
      wsUrl: settings.wsUrl,
      token: settings.token,
      session
    });
    this.changes = new ChangesModel(services.api, session.id);
    this.model.subscribe(() => {
      const key = changesKey(this.model.state);
      if (key !== this.changesSeen) {
        this.changesSeen = key;
        void this.changes.refresh();
      }
      const name = this.model.state.session.name;
      if (typeof name === 'string' && name && name !== this.title.label) {
        this.title.label = name;
      }
      this.title.className = this.model.state.pendingOrder.length ? 'jp-Companion-tabWaiting' : '';
    });
    this.model.start();
    void services
      .backends()
      .then(list => {
        this.models = list.find(b => b.name === session.backend)?.models ?? [];
        this.update();
      })
      .catch(() => undefined);
  }

  dispose(): void {
    this.model.dispose();
    super.dispose();
  }

  /** Activating the chat (opening it, switching to its tab) puts the cursor in the composer. */
  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    this.focusComposer();
  }

  /** Focus the composer as soon as it is rendered (a new panel renders a little later). */
  focusComposer(attempts = 30): void {
    const input = this.node.querySelector<HTMLTextAreaElement>('textarea.jp-Companion-input');
    if (input && !input.disabled) {
      input.focus();
    } else if (attempts > 0 && !this.isDisposed) {
      requestAnimationFrame(() => this.focusComposer(attempts - 1));
    }
  }

  render(): JSX.Element {
    return (
      <UiContext.Provider value={{ ...this.services.ui, openFile: this.services.ui.openFile && this.resolveOpen }}>
        <ChatView
          model={this.model}
          models={this.models}
          onOpenTerminal={this.actions.openTerminal ? () => this.actions.openTerminal?.(this.session) : undefined}
          onFork={this.actions.openSession ? this.fork : undefined}
          changes={this.changes}
          onExport={this.exportNotebook}
          onDownloadRecording={this.downloadRecording}
        />
      </UiContext.Provider>
    );
  }

  /** A new session that continues a copy of this conversation (same backend and folder), opened. */
  private fork = async (): Promise<void> => {
    const info = { ...this.session, ...this.model.state.session } as SessionInfo;
    try {
      const forked = await this.services.api.createSession(
        {
          backend: info.backend,
          cwd: info.cwd,
          model: info.model ?? undefined,
          permission_mode: info.permission_mode ?? undefined,
          name: `${info.name || info.id} (fork)`,
          resume_session: String(info.cli_session_id),
          fork: true
        },
        () => undefined
      );
      this.actions.openSession?.(forked);
    } catch (err: any) {
      void showErrorMessage('Fork the session', String(err?.message ?? err));
    }
  };

  /** Save the conversation as a notebook next to the session's files and open it. */
  private exportNotebook = async (): Promise<void> => {
    try {
      const saved = await this.services.api.exportSession(this.session.id, 'ipynb');
      (this.services.ui.openNotebook ?? this.services.ui.openFile)?.(saved.file);
    } catch (err: any) {
      void showErrorMessage('Export the conversation', String(err?.message ?? err));
    }
  };

  /** Download the session's newest CLI recording as a file. */
  private downloadRecording = async (): Promise<void> => {
    const api = this.services.api;
    try {
      const [newest] = await api.recordings(this.session.id);
      if (!newest) {
        void showErrorMessage('Download the recording', 'Nothing is recorded for this session yet (or recording is off).');
        return;
      }
      const blob = new Blob([await api.recordingText(newest.id)], { type: 'application/x-ndjson' });
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = `${newest.id}.jsonl`;
      link.click();
      window.setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (err: any) {
      void showErrorMessage('Download the recording', String(err?.message ?? err));
    }
  };

  /** Paths in cards are relative to the session's cwd unless absolute. */
  private resolveOpen = (path: string): void => {
    const absolute = path.startsWith('/') ? path : `${this.session.cwd.replace(/\/+$/, '')}/${path}`;
    this.services.ui.openFile?.(absolute);
  };
}

/** Show the new-session form in a modal; resolves with the session or null. */
export function showNewSessionDialog(
  services: CompanionServices,
  defaultCwd: string,
  extras: { recentFolders?: string[]; pickFolder?: () => Promise<string | null> } = {}
): Promise<SessionInfo | null> {
  return new Promise(resolve => {
    let settled = false;
    const previous = document.activeElement as HTMLElement | null;
    const finish = (session: SessionInfo | null) => {
      if (settled) {
        return;
      }
      settled = true;
      widget.dispose();
      previous?.focus?.();
      resolve(session);
    };
    const settings = services.settings();
    const widget = ReactWidget.create(
      <div className="jp-Companion-modalBackdrop" onMouseDown={e => e.target === e.currentTarget && finish(null)}>
        <div className="jp-Companion-modal" role="dialog" aria-modal="true" aria-label="New agent session">
          <NewSessionForm
            loadBackends={services.backends}
            loadChoices={() => loadSessionChoices(services.api)}
            create={(body, onLine) => services.api.createSession(body, onLine)}
            loadConversations={backend => services.api.conversations(backend)}
            loadBranches={cwd => services.api.branches(cwd)}
            recentFolders={extras.recentFolders}
            pickFolder={extras.pickFolder}
            defaultCwd={defaultCwd}
            defaultBackend={settings.defaultBackend}
            defaultMode={settings.defaultPermissionMode}
            defaultModel={settings.defaultModel}
            onCreated={session => finish(session)}
            onCancel={() => finish(null)}
          />
        </div>
      </div>
    );
    widget.addClass('jp-Companion-modalHost');
    Widget.attach(widget, document.body);
    requestAnimationFrame(() => {
      const first = widget.node.querySelector<HTMLElement>('input:not([disabled]), select, button');
      first?.focus();
    });
  });
}
