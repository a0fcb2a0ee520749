/**
 * jupyter-companion JupyterLab extension: sessions sidebar, chat tabs,
 * new-session dialog, palette commands, launcher card and settings.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Clipboard,
  Dialog,
  ICommandPalette,
  InputDialog,
  MainAreaWidget,
  Notification,
  WidgetTracker,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { TerminalAPI } from '@jupyterlab/services';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { FileDialog, IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { CompanionApi } from './api';
import { companionIcon } from './icons';
import { sessionChoices } from './model/labels';
import { Attention } from './model/sessionsFeed';
import { liveFields } from './model/sessionsLive';
import { ArchiveAnswer, BackendInfo, SessionInfo } from './model/types';
import {
  ChatPanel,
  CompanionServices,
  CompanionSettings,
  DEFAULT_SETTINGS,
  SessionsPanel,
  makeMarkdown,
  resolveSettings,
  showNewSessionDialog
} from './widgets';
import { sandboxOf } from './components/SandboxBadge';
import { SandboxProfiles } from './components/SandboxProfiles';
import { Agents } from './components/Agents';
import { Runs } from './components/Runs';
import { SavedPrompts } from './components/SavedPrompts';
import { askArchive, integrationsPage, loadContributions } from './integrations';
import type { Contribution } from './model/contributions';
import type { Access } from './components/context';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';
import { shellCommand } from './model/values';

const PLUGIN_ID = 'jupyter-companion:plugin';

export namespace CommandIDs {
  export const newSession = 'companion:new-session';
  export const openSession = 'companion:open-session';
  export const interrupt = 'companion:interrupt';
  export const showSessions = 'companion:show-sessions';
  export const sandboxProfiles = 'companion:sandbox-profiles';
  export const agents = 'companion:agents';
  export const runs = 'companion:runs';
  export const integrations = 'companion:integrations';
}


/** Turn an absolute server path into one relative to the Jupyter root, when inside it. */
export function toServerPath(path: string): string {
  const root = (PageConfig.getOption('serverRoot') || '').replace(/\/+$/, '');
  if (root && !root.startsWith('~') && (path === root || path.startsWith(root + '/'))) {
    return path.slice(root.length + 1);
  }
  return path.replace(/^\/+/, '');
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Coding-agent sessions (Claude Code, Codex, ...) in JupyterLab.',
  autoStart: true,
  requires: [IRenderMimeRegistry],
  optional: [ILayoutRestorer, ICommandPalette, ILauncher, IDefaultFileBrowser, IDocumentManager, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    fileBrowser: IDefaultFileBrowser | null,
    docManager: IDocumentManager | null,
    settingRegistry: ISettingRegistry | null
  ) => {
    const api = new CompanionApi();
    let settings: CompanionSettings = { ...DEFAULT_SETTINGS };
    let backendCache: { at: number; list: Promise<BackendInfo[]> } | null = null;
    const loadBackends = (maxAgeMs: number): Promise<BackendInfo[]> => {
      if (!backendCache || Date.now() - backendCache.at > maxAgeMs) {
        const list = api.backends().then(answer => answer.backends ?? []);
        backendCache = { at: Date.now(), list };
        list.catch(() => (backendCache = null));
      }
      return backendCache.list;
    };
    const contributions: Contribution[] = [];
    const access: Access = { read: true, write: true, execute: true }; // filled from GET status below
    const services: CompanionServices = {
      api,
      settings: () => settings,
      backends: () => loadBackends(60_000),
      ui: {
        Markdown: makeMarkdown(rendermime),
        openFile: docManager
          ? (path: string) => {
              docManager.openOrReveal(toServerPath(path));
            }
          : undefined,
        openNotebook: docManager
          ? (path: string) => {
              // opened to be read: no kernel starts (the user picks one to run a cell), and
              // nothing a kernel would write into its metadata marks it unsaved
              docManager.openOrReveal(toServerPath(path), 'Notebook', undefined, {}, {
                shouldStart: false,
                canStart: true,
                autoStartDefault: false
              });
            }
          : undefined,
        savedPrompts: () => api.prompts(),
        contributions,
        access
      }
    };

    const tracker = new WidgetTracker<MainAreaWidget<ChatPanel>>({ namespace: 'companion-chat' });

    const openTerminal = async (session: SessionInfo) => {
      // Started here with the session's absolute folder: 'terminal:create-new' turns any cwd into
      // a path relative to the folder the server was started from (not its root), and opens a
      // session at the root (an empty path) wherever the server was started.
      try {
        const model = await TerminalAPI.startNew(app.serviceManager.serverSettings, undefined, session.cwd);
        await app.commands.execute('terminal:create-new', { name: model.name });
        // a session in a sandbox (a container): the terminal runs the sandbox's own shell
        const shell = sandboxOf(session).shell;
        if (shell?.length) {
          const connection = app.serviceManager.terminals.connectTo({ model });
          connection.send({ type: 'stdin', content: [`exec ${shellCommand(shell)}\r`] });
        }
      } catch (err) {
        void showErrorMessage('Could not open a terminal', String((err as Error).message ?? err));
      }
    };

    // One tab per session, even when the layout restorer and a click open it at the same time.
    const opening = new Map<string, Promise<MainAreaWidget<ChatPanel> | null>>();
    const openSession = (session: SessionInfo | string): Promise<MainAreaWidget<ChatPanel> | null> => {
      const id = typeof session === 'string' ? session : session.id;
      const pending = opening.get(id);
      if (pending) {
        return pending;
      }
      const result = openSessionOnce(session, id).finally(() => opening.delete(id));
      opening.set(id, result);
      return result;
    };

    const openSessionOnce = async (
      session: SessionInfo | string,
      id: string
    ): Promise<MainAreaWidget<ChatPanel> | null> => {
      const existing = tracker.find(w => w.content.session.id === id);
      if (existing) {
        app.shell.activateById(existing.id);
        return existing;
      }
      let info: SessionInfo;
      try {
        info = typeof session === 'string' ? await api.getSession(id) : session;
      } catch (err: any) {
        await showErrorMessage('Cannot open the session', String(err?.message ?? err));
        return null;
      }
      const content = new ChatPanel(info, services, {
        openTerminal: app.commands.hasCommand('terminal:create-new') ? openTerminal : undefined,
        openSession: forked => void openSession(forked)
      });
      const widget = new MainAreaWidget({ content });
      widget.id = content.id;
      widget.title.icon = companionIcon;
      widget.title.label = content.title.label;
      content.title.changed.connect(() => {
        widget.title.label = content.title.label;
        widget.title.className = content.title.className;
      });
      // Keep the sidebar's phase dot, badge, name and cost live from this tab's socket.
      const chat = content.model;
      chat.subscribe(() => sidebar.setLive(id, chat.connection === 'connected' ? liveFields(chat.state) : null));
      content.disposed.connect(() => sidebar.setLive(id, null));
      app.shell.add(widget, 'main');
      await tracker.add(widget);
      app.shell.activateById(widget.id);
      sidebar.activeId = id;
      sidebar.update();
      return widget;
    };

    const newSession = async () => {
      const cwd = fileBrowser ? fileBrowser.model.path : '';
      const pickFolder = docManager
        ? async (): Promise<string | null> => {
            const picked = await FileDialog.getExistingDirectory({ manager: docManager, title: 'Folder of the session' });
            return picked.button.accept && picked.value?.length ? picked.value[0].path : null;
          }
        : undefined;
      const recentFolders = sidebar.recentFolders().map(toServerPath);
      const session = await showNewSessionDialog(services, cwd, { recentFolders, pickFolder });
      await sidebar.refresh();
      if (session) {
        await openSession(session);
      }
    };

    /** Sessions not in view: a permission request is a notification until answered anywhere; an ended turn a short one. */
    const notices = new Map<string, string>();
    const notifyAttention = (session: SessionInfo, attention: Attention): void => {
      for (const requestId of attention.settled) {
        const notice = notices.get(requestId);
        if (notice) {
          Notification.dismiss(notice);
          notices.delete(requestId);
        }
      }
      const inView =
        tracker.currentWidget?.content.session.id === session.id &&
        app.shell.currentWidget === tracker.currentWidget &&
        document.visibilityState === 'visible';
      if (inView) {
        return;
      }
      const name = session.name || session.id;
      if (attention.turnEnded && !attention.asked.length && services.settings().notifyTurnEnd) {
        const last = session.phase === 'ready' ? 'finished its turn' : `is ${session.phase}`;
        Notification.info(`“${name}” ${last}.`, {
          autoClose: 8000,
          actions: [{ label: 'Open', caption: `Open the session “${name}”`, callback: () => void openSession(session.id) }]
        });
      }
      if (!services.settings().notifyPermissions) {
        return;
      }
      for (const request of attention.asked) {
        const notice = Notification.warning(`“${name}” asks permission to use ${request.tool_name}.`, {
          autoClose: false,
          actions: [{ label: 'Open', caption: `Open the session “${name}”`, callback: () => void openSession(session.id) }]
        });
        notices.set(request.request_id, notice);
      }
    };

    /** An archive that kept a worktree with uncommitted changes says where it is. */
    const notifyArchived = (session: SessionInfo, answer: ArchiveAnswer): void => {
      const kept = answer.worktree;
      if (!kept || kept.cleaned) {
        return;
      }
      const name = session.name || session.id;
      // toasts are cut at 140 characters: the folder's last two parts here, the whole path on the button
      const tail = kept.path.split('/').filter(Boolean).slice(-2).join('/');
      const notice = Notification.warning(
        `“${name}” is archived; its worktree has uncommitted changes and is kept in …/${tail}`,
        {
          autoClose: false,
          actions: [
            { label: 'Copy path', caption: `Copy ${kept.path}`, callback: () => Clipboard.copyToSystem(kept.path) },
            {
              label: 'Discard changes…',
              caption: 'Remove the worktree and its uncommitted changes',
              displayType: 'warn',
              callback: () => void discardWorktree(session, kept.path, notice)
            }
          ]
        }
      );
    };
    const discardWorktree = async (session: SessionInfo, path: string, notice: string): Promise<void> => {
      const result = await showDialog({
        title: 'Discard the uncommitted changes?',
        body: `The worktree ${path} and the changes in it are deleted.`,
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Discard' })]
      });
      if (!result.button.accept) {
        return;
      }
      try {
        await api.archive(session.id, true);
        Notification.dismiss(notice);
      } catch (err: any) {
        await showErrorMessage('Discard the worktree', String(err?.message ?? err));
      }
    };

    const sidebar = new SessionsPanel(services, {
      onArchived: (session, answer) => notifyArchived(session, answer),
      onNew: () => void newSession(),
      onAgents: () => void app.commands.execute(CommandIDs.agents),
      onRuns: () => void app.commands.execute(CommandIDs.runs),
      onIntegrations: () => void app.commands.execute(CommandIDs.integrations),
      askArchive: session => askArchive(api, contributions, session),
      onOpen: s => void openSession(s),
      onError: message => void showErrorMessage('Agent session', message),
      onAttention: (session, attention) => notifyAttention(session, attention),
      onRemoved: id => tracker.find(w => w.content.session.id === id)?.dispose(),
      confirmDelete: async s => {
        const result = await showDialog({
          title: 'Delete session?',
          body: `Delete “${s.name}”? Its CLI is stopped and its history is removed.`,
          buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
        });
        return result.button.accept;
      }
    });
    sidebar.title.icon = companionIcon;
    app.shell.add(sidebar, 'left', { rank: 600 });
    if (restorer) {
      restorer.add(sidebar, 'jupyter-companion-sessions');
      void restorer.restore(tracker, {
        command: CommandIDs.openSession,
        args: widget => ({ id: widget.content.session.id }),
        name: widget => widget.content.session.id // the restorer's key (stable), not shown
      });
    }

    app.commands.addCommand(CommandIDs.newSession, {
      label: args => (args.isLauncher ? 'Agent Session' : 'New Agent Session…'),
      caption: 'Start a coding-agent session (Claude Code, Codex, ...)',
      icon: args => (args.isPalette ? undefined : companionIcon),
      execute: () => newSession()
    });

    app.commands.addCommand(CommandIDs.openSession, {
      label: 'Open Agent Session…',
      caption: 'Open the chat of an existing agent session',
      execute: async args => {
        if (typeof args.id === 'string' && args.id) {
          return openSession(args.id);
        }
        const { sessions } = await api.listSessions('false');
        if (!sessions.length) {
          await showErrorMessage('Open agent session', 'There are no sessions yet.');
          return null;
        }
        const choices = sessionChoices(sessions);
        const labels = choices.map(c => c.label);
        const picked = await InputDialog.getItem({ title: 'Open agent session', items: labels });
        if (!picked.button.accept || picked.value === null) {
          return null;
        }
        return openSession(choices[labels.indexOf(picked.value)].session);
      }
    });

    app.commands.addCommand(CommandIDs.interrupt, {
      label: 'Interrupt Agent Session',
      caption: 'Stop the current turn of the active agent session',
      isEnabled: () => tracker.currentWidget !== null,
      execute: () => tracker.currentWidget?.content.model.interrupt()
    });

    app.commands.addCommand(CommandIDs.showSessions, {
      label: 'Show Agent Sessions',
      execute: () => app.shell.activateById(sidebar.id)
    });

    let profilesWidget: MainAreaWidget | null = null;
    app.commands.addCommand(CommandIDs.sandboxProfiles, {
      label: 'Sandbox Profiles…',
      caption: 'Create, change or delete the profiles of sandboxes (e.g. Docker containers)',
      execute: () => {
        if (!profilesWidget || profilesWidget.isDisposed) {
          const content = ReactWidget.create(
            React.createElement(SandboxProfiles, {
              load: async () => ({ profiles: await api.sandboxProfiles(), sandboxes: (await api.status()).sandboxes ?? [] }),
              save: (name, profile) => api.putSandboxProfile(name, profile),
              remove: name => api.deleteSandboxProfile(name)
            })
          );
          profilesWidget = new MainAreaWidget({ content });
          profilesWidget.id = 'jupyter-companion-sandbox-profiles';
          profilesWidget.title.label = 'Sandbox Profiles';
          profilesWidget.title.icon = companionIcon;
          profilesWidget.title.closable = true;
        }
        if (!profilesWidget.isAttached) {
          app.shell.add(profilesWidget, 'main');
        }
        app.shell.activateById(profilesWidget.id);
      }
    });

    /** A main-area widget of one React element, made once and brought forward after. */
    const singletons = new Map<string, MainAreaWidget>();
    const showSingleton = (id: string, label: string, render: () => React.ReactElement, fresh = false) => {
      let widget = singletons.get(id);
      if (fresh && widget && !widget.isDisposed) {
        widget.dispose();
      }
      if (!widget || widget.isDisposed) {
        widget = new MainAreaWidget({ content: ReactWidget.create(render()) });
        widget.id = id;
        widget.title.label = label;
        widget.title.icon = companionIcon;
        widget.title.closable = true;
        singletons.set(id, widget);
      }
      if (!widget.isAttached) {
        app.shell.add(widget, 'main');
      }
      app.shell.activateById(widget.id);
    };
    const showRuns = (agentId?: string) =>
      showSingleton('jupyter-companion-runs', 'Agent Runs', () =>
        React.createElement(Runs, {
          load: filters => api.runs({ ...filters, limit: 200 }),
          agents: () => api.agents(),
          openSession: id => void openSession(id),
          agentId
        }), true);
    app.commands.addCommand(CommandIDs.agents, {
      label: 'Agents…',
      caption: 'Agents that run by themselves (prompts with an input, schedules, webhooks) and saved prompts',
      execute: () =>
        showSingleton('jupyter-companion-agents', 'Agents', () =>
          React.createElement(Agents, {
            load: async () => ({ agents: await api.agents(), backends: (await loadBackends(60_000)).map(b => b.name) }),
            save: (body, id) => api.saveAgent(body, id),
            remove: id => api.deleteAgent(id),
            run: (id, input) => api.runAgent(id, input),
            regenerate: id => api.regenerateSecret(id),
            showRuns,
            copy: text => void navigator.clipboard?.writeText(text)
          }, React.createElement(SavedPrompts, {
            load: () => api.prompts(),
            save: (body, id) => api.savePrompt(body, id),
            remove: id => api.deletePrompt(id)
          })))
    });
    app.commands.addCommand(CommandIDs.runs, {
      label: 'Agent Runs',
      caption: 'What the agents did: status, trigger, duration, cost, their sessions',
      execute: args => showRuns(typeof args?.agentId === 'string' ? args.agentId : undefined)
    });

    app.commands.addCommand(CommandIDs.integrations, {
      label: 'Integrations…',
      caption: 'What installed plugins add (Linear, Tailscale, …): their settings, status and switches',
      execute: () => showSingleton('jupyter-companion-integrations', 'Integrations', () => integrationsPage(api, contributions), true)
    });
    void loadContributions(api, contributions).then(() => sidebar.update()).catch(() => undefined);
    void api.status().then(status => {
      Object.assign(access, status.access ?? {});
      sidebar.update();
    }).catch(() => undefined);

    if (palette) {
      const category = 'Agent Sessions';
      for (const command of [CommandIDs.newSession, CommandIDs.openSession, CommandIDs.interrupt, CommandIDs.showSessions,
                             CommandIDs.sandboxProfiles, CommandIDs.agents, CommandIDs.runs, CommandIDs.integrations]) {
        palette.addItem({ command, category, args: { isPalette: true } });
      }
    }
    if (launcher) {
      launcher.add({ command: CommandIDs.newSession, category: 'Other', rank: 1, args: { isLauncher: true } });
    }

    if (settingRegistry) {
      void settingRegistry
        .load(PLUGIN_ID)
        .then(loaded => {
          const apply = () => {
            settings = resolveSettings(
              loaded.composite as Record<string, unknown>,
              (loaded.user ?? {}) as Record<string, unknown>
            );
          };
          apply();
          loaded.changed.connect(apply);
        })
        .catch(err => console.warn('jupyter-companion: settings unavailable', err));
    }
  }
};

export default plugin;
