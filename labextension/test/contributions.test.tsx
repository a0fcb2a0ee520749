// @vitest-environment jsdom
/**
 * What server plugins declare for the panel: templates filled as text (links only http(s)),
 * badges of sessions, the search-as-you-type picker of the New-session form (and its create form),
 * the archive question, and the Integrations page (status with a QR code, the switch, settings
 * saved with the server's refusal shown).
 */
import * as React from 'react';
import { act } from 'react';
import { describe, expect, it } from 'vitest';
import { mount, settle, unmount, useDomHarness } from './domHarness';
import { Integrations } from '../src/components/Integrations';
import { ArchiveChoices, CreateFieldPicker, PluginCreateFields, SessionBadges } from '../src/components/PluginFields';
import { UiContext, PlainMarkdown } from '../src/components/context';
import {
  Contribution,
  CreateFieldContribution,
  PageContribution,
  archiveChoices,
  fill,
  safeHref,
  sessionBadges
} from '../src/model/contributions';

useDomHarness();

function setValue(el: HTMLInputElement | HTMLTextAreaElement, value: string): void {
  const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(el, value);
  el.dispatchEvent(new Event('input', { bubbles: true }));
}

const BADGE: Contribution = { kind: 'session_field', plugin: 'linear', field: 'linear_issue',
                              text: '{identifier} · {state}', title: '{title}', href: '{url}' };
const ISSUE = { identifier: 'ENG-1', state: 'In Progress', title: '<b>Login</b>', url: 'https://linear.app/acme/issue/eng-1' };
const PICKER: CreateFieldContribution = {
  kind: 'create_field', plugin: 'linear', name: 'linear_issue', label: 'Linear issue',
  search: { url: 'linear/issues', param: 'query', list: 'issues', value: 'identifier', text: '{identifier} {title}', detail: '{state}' },
  create: { url: 'linear/issues', label: 'New Linear issue', value: 'identifier',
            fields: [{ name: 'title', label: 'Title', required: true },
                     { name: 'team_id', label: 'Team', options_url: 'linear/teams', list: 'teams', option_value: 'id', option_text: '{key} {name}' }] }
};

describe('plugin contributions', () => {
  it('fills templates as text and follows only http(s) links', () => {
    expect(fill('{identifier} · {state}', ISSUE)).toBe('ENG-1 · In Progress');
    expect(fill('{a.b} {missing}', { a: { b: 2 } })).toBe('2');
    expect(safeHref('javascript:alert(1)')).toBeUndefined();
    expect(sessionBadges([BADGE], { linear_issue: { ...ISSUE, url: 'javascript:alert(1)' } })[0].href).toBeUndefined();
    expect(sessionBadges([BADGE], { name: 'no issue' })).toEqual([]);
    const el = mount(
      <UiContext.Provider value={{ Markdown: PlainMarkdown, contributions: [BADGE] }}>
        <SessionBadges session={{ linear_issue: ISSUE }} />
      </UiContext.Provider>
    );
    const link = el.querySelector('a.jp-Companion-pluginBadge') as HTMLAnchorElement;
    expect(link.textContent).toBe('ENG-1 · In Progress');
    expect(link.href).toBe(ISSUE.url);
    expect(link.title).toBe('<b>Login</b>'); // text, never markup
    expect(el.querySelector('b')).toBeNull();
  });

  it('searches as you type, and creates an item from the picker', async () => {
    const gets: Array<[string, Record<string, string | undefined> | undefined]> = [];
    const posts: unknown[] = [];
    let chosen = '';
    const calls = {
      get: async (url: string, query?: Record<string, string | undefined>) => {
        gets.push([url, query]);
        return url === 'linear/teams'
          ? { teams: [{ id: 'team-eng', key: 'ENG', name: 'Engineering' }, { id: 'team-ops', key: 'OPS', name: 'Operations', selected: true }] }
          : { issues: [{ identifier: 'ENG-1', title: 'Login', state: 'Todo' }] };
      },
      post: async (_url: string, body: unknown) => {
        posts.push(body);
        return { identifier: 'OPS-2', title: 'New' };
      }
    };
    const el = mount(<CreateFieldPicker field={PICKER} cwd="project" value="" calls={calls} onChange={v => { chosen = v; }} />);
    act(() => setValue(el.querySelector('input[aria-label="Linear issue"]') as HTMLInputElement, 'login'));
    await act(async () => { await new Promise(resolve => setTimeout(resolve, 300)); });
    expect(gets[0]).toEqual(['linear/issues', { query: 'login', cwd: 'project' }]);
    const option = el.querySelector('[role="option"]') as HTMLElement;
    expect(option.textContent).toBe('ENG-1 Login Todo');
    act(() => option.click());
    expect(chosen).toBe('ENG-1');

    const buttons = () => Array.from(el.querySelectorAll('button'));
    act(() => buttons().find(b => b.textContent === 'New Linear issue…')!.click());
    await settle();
    const team = el.querySelector('select[aria-label="Team"]') as HTMLSelectElement;
    expect(team.value).toBe('team-ops'); // the team mapped to the folder
    const create = buttons().find(b => b.textContent === 'Create') as HTMLButtonElement;
    expect(create.disabled).toBe(true); // a title is required
    act(() => setValue(el.querySelector('input[aria-label="Title"]') as HTMLInputElement, 'Flaky test'));
    await act(async () => buttons().find(b => b.textContent === 'Create')!.click());
    await settle();
    expect(posts).toEqual([{ team_id: 'team-ops', title: 'Flaky test' }]);
    expect(chosen).toBe('OPS-2');
  });

  it('shows a field only for the backends it names', () => {
    const recording: CreateFieldContribution = { ...PICKER, plugin: 'replay', name: 'recording', label: 'Recording',
                                                 backends: ['replay'] };
    const calls = { get: async () => ({}), post: async () => ({}) };
    const labels = (backend: string) => {
      const el = mount(<PluginCreateFields fields={[PICKER, recording]} backend={backend} cwd="" values={{}}
                                           onChange={() => undefined} calls={calls} />);
      const found = Array.from(el.querySelectorAll('input')).map(i => i.getAttribute('aria-label'));
      unmount();
      return found;
    };
    expect(labels('claude')).toEqual(['Linear issue']);
    expect(labels('replay')).toEqual(['Linear issue', 'Recording']);
  });

  it('asks the archive question of a session that has the field', () => {
    const choice: Contribution = { kind: 'archive_choice', plugin: 'linear', field: 'linear_issue', name: 'linear_transition',
                                   label: 'The Linear issue', default: 'configured',
                                   options: [{ value: 'configured', label: 'Move it to Done' }, { value: 'none', label: 'Leave it' }] };
    expect(archiveChoices([choice], { name: 'x' })).toEqual([]);
    let values: Record<string, string> = {};
    const el = mount(<ArchiveChoices choices={archiveChoices([choice], { linear_issue: ISSUE })} session={{ linear_issue: ISSUE }}
                                     onChange={v => { values = v; }} />);
    expect(values).toEqual({ linear_transition: 'configured' });
    expect(el.textContent).toContain('The Linear issue (ENG-1)');
    const select = el.querySelector('select') as HTMLSelectElement;
    act(() => {
      select.value = 'none';
      select.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(values).toEqual({ linear_transition: 'none' });
  });

  it('shows an integration: its status with a QR code, its switch, its settings', async () => {
    const page: PageContribution = {
      kind: 'page', plugin: 'tailscale', id: 'tailscale', label: 'Tailscale', settings: ['linear_api_key', 'flag'],
      status: { url: 'tailscale/status', fields: [{ key: 'backend_state', label: 'Tailscale', format: 'state' },
                                                    { key: 'funnel.url', label: 'Public address', format: 'qr' }] },
      toggle: { key: 'funnel.enabled', url: 'tailscale/funnel', body_key: 'enabled', label_on: 'Turn Funnel off', label_off: 'Turn Funnel on' }
    };
    let status: any = { backend_state: 'Running', funnel: { enabled: false } };
    const posted: unknown[] = [];
    const saved: unknown[] = [];
    const copied: string[] = [];
    const el = mount(
      <Integrations
        load={async () => ({ pages: [page], settings: {
          settings: { linear_api_key: '••••abcd', flag: false },
          schema: { linear_api_key: { type: 'string', title: 'API key', secret: true }, flag: { type: 'boolean' } } } })}
        saveSettings={async changes => {
          saved.push(changes);
          throw new Error('Linear did not accept this key: You need to authenticate');
        }}
        calls={{
          get: async () => status,
          post: async (_url, body) => {
            posted.push(body);
            status = { backend_state: 'Running', funnel: { enabled: true, url: 'https://devbox.tail1234.ts.net/' } };
            return status;
          }
        }}
        copy={text => copied.push(text)}
      />
    );
    await settle();
    await settle();
    expect(el.textContent).toContain('Running');
    expect(el.querySelector('svg.jp-Companion-qr')).toBeNull();
    const button = (text: string) => Array.from(el.querySelectorAll('button')).find(b => b.textContent === text) as HTMLButtonElement;
    await act(async () => button('Turn Funnel on').click());
    await settle();
    expect(posted).toEqual([{ enabled: true }]);
    expect(el.querySelector('a[href="https://devbox.tail1234.ts.net/"]')).not.toBeNull();
    expect(el.querySelector('svg.jp-Companion-qr')?.querySelectorAll('rect').length).toBeGreaterThan(50);
    act(() => button('Copy').click());
    expect(copied).toEqual(['https://devbox.tail1234.ts.net/']);
    expect(button('Turn Funnel off')).toBeDefined();

    const key = el.querySelector('input[aria-label="API key"]') as HTMLInputElement;
    expect(key.type).toBe('password');
    act(() => setValue(key, 'lin_api_wrong'));
    await act(async () => button('Save').click());
    await settle();
    expect(saved).toEqual([{ linear_api_key: 'lin_api_wrong' }]); // only what changed
    expect(el.querySelector('[role="alert"]')?.textContent).toContain('Linear did not accept this key');
  });
});
