/**
 * The JupyterLab side of server plugins' contributions: the question asked before archiving a
 * session that has plugin choices, and the Integrations page.
 */
import { Dialog, ReactWidget, showDialog } from '@jupyterlab/apputils';
import * as React from 'react';
import { CompanionApi } from './api';
import { Integrations, SettingsSnapshot } from './components/Integrations';
import { ArchiveChoices } from './components/PluginFields';
import { Contribution, archiveChoices, ofKind } from './model/contributions';
import { SessionInfo } from './model/types';
import { pluginCalls } from './widgets';

/** Load the contributions into `into` (kept in place: the panel's components read that array). */
export async function loadContributions(api: CompanionApi, into: Contribution[]): Promise<void> {
  const fresh = await api.contributions();
  into.splice(0, into.length, ...fresh);
}

/** Ask the plugins' archive questions for a session: the chosen values, `{}` when none apply,
 * null when the user cancelled. */
export async function askArchive(api: CompanionApi, contributions: Contribution[],
                                 session: SessionInfo): Promise<Record<string, string> | null> {
  await loadContributions(api, contributions).catch(() => undefined);
  const choices = archiveChoices(contributions, session as unknown as Record<string, unknown>);
  if (!choices.length) {
    return {};
  }
  let values: Record<string, string> = {};
  const body = ReactWidget.create(React.createElement(ArchiveChoices, {
    choices, session: session as unknown as Record<string, unknown>, onChange: v => { values = v; }
  }));
  const result = await showDialog({
    title: `Archive “${session.name}”`,
    body,
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Archive' })]
  });
  return result.button.accept ? values : null;
}

/** The Integrations page's element. */
export function integrationsPage(api: CompanionApi, contributions: Contribution[]): React.ReactElement {
  return React.createElement(Integrations, {
    load: async () => {
      await loadContributions(api, contributions);
      const settings = await api.request<SettingsSnapshot>(['settings']);
      return { pages: ofKind(contributions, 'page'), settings };
    },
    saveSettings: changes => api.patchSettings(changes),
    calls: pluginCalls(api),
    copy: text => void navigator.clipboard?.writeText(text)
  });
}
