// @vitest-environment jsdom
/**
 * DOM tests (jsdom): the virtualized transcript keeps only a window of rows in
 * the DOM, and the New-session form offers env profiles and sandboxes and
 * preselects the server's defaults.
 */
import * as React from 'react';
import { act } from 'react';
import { describe, expect, it } from 'vitest';
import { mount, settle, unmount, useDomHarness } from './domHarness';
import { ChatView, resultLabel } from '../src/components/ChatView';
import { Composer } from '../src/components/Composer';
import { NewSessionForm, SessionChoices } from '../src/components/NewSessionForm';
import { VirtualList, visibleRange } from '../src/components/VirtualList';
import { ChatModel } from '../src/model/chatModel';
import { PlainMarkdown, UiContext } from '../src/components/context';
import { BackendInfo, CompanionEvent } from '../src/model/types';

useDomHarness();

describe('virtualized transcript', () => {
  it('computes the visible window from offsets', () => {
    const offsets = [0, 10, 20, 30, 40, 50];
    expect(visibleRange(offsets, 5, 0, 15, 0)).toEqual([0, 2]);
    expect(visibleRange(offsets, 5, 25, 10, 0)).toEqual([2, 4]);
    expect(visibleRange(offsets, 5, 1000, 10, 0)).toEqual([4, 5]);
    expect(visibleRange(offsets, 0, 0, 10, 0)).toEqual([0, 0]);
  });

  it('renders 10k items with only a small window of rows in the DOM', () => {
    const items = Array.from({ length: 10_000 }, (_, i) => ({ id: `k${i}`, text: `item ${i}` }));
    const el = mount(
      <VirtualList
        className="list"
        items={items}
        itemKey={it => it.id}
        renderItem={it => <p className="item">{it.text}</p>}
        footer={<div className="footer">draft</div>}
      />
    );
    const rows = el.querySelectorAll('.jp-Companion-row');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(100);
    // Stuck to the bottom: the newest item and the footer are rendered, the oldest is not.
    expect(el.textContent).toContain('item 9999');
    expect(el.textContent).not.toContain('item 0 ');
    expect(el.querySelector('.footer')).not.toBeNull();
    const list = el.querySelector('.list') as HTMLElement;
    expect(list.dataset.total).toBe('10000');
    // The spacers stand for the rest.
    const spacer = el.querySelector('.jp-Companion-spacer-top') as HTMLElement;
    expect(parseFloat(spacer.style.height)).toBeGreaterThan(100_000);
  });

  it('renders a 10k-event session history through ChatView without 10k rows', () => {
    const model = new ChatModel({ sessionId: 's', wsUrl: 'ws://x/', schedule: fn => fn(), socketFactory: () => ({}) as any });
    const events: CompanionEvent[] = [];
    let seq = 0;
    for (let turn = 0; events.length < 10_000; turn++) {
      events.push({ seq: ++seq, type: 'user_message', content: `question ${turn}` });
      events.push({ seq: ++seq, type: 'assistant', message: { id: `m${turn}`, content: [{ type: 'text', text: `answer ${turn}` }] } });
      events.push({ seq: ++seq, type: 'result', is_error: false, cost_usd: 0.001 });
      events.push({ seq: ++seq, type: 'phase', phase: 'ready' });
    }
    events.forEach(ev => model.receive(ev));
    expect(model.state.items.length).toBe(7500);
    const el = mount(<ChatView model={model} />);
    const rows = el.querySelectorAll('.jp-Companion-transcript .jp-Companion-row');
    expect(rows.length).toBeLessThan(100);
    expect(el.querySelector('.jp-Companion-transcript')?.getAttribute('data-total')).toBe('7500');
    expect(el.textContent).toContain('answer 2499');
    expect(el.textContent).not.toContain('question 0');
  });
});

const BACKENDS: BackendInfo[] = [
  { name: 'claude', label: 'Claude Code', available: true, models: [{ id: 'default', label: 'Default' }, { id: 'opus', label: 'Opus' }] },
  { name: 'codex', label: 'Codex', available: false, reason: 'codex not found' }
];

function select(el: HTMLElement, label: string): HTMLSelectElement | null {
  return el.querySelector(`select[aria-label="${label}"]`);
}

describe('new-session form', () => {
  const choices: SessionChoices = {
    sandboxes: [{ name: 'local', label: 'Local' }, { name: 'docker', label: 'Docker' }],
    envProfiles: ['staging', 'prod'],
    defaults: { permission_mode: 'plan', model: 'opus' }
  };

  it('offers env profiles and sandboxes and preselects the server defaults', async () => {
    let body: any = null;
    const el = mount(
      <NewSessionForm
        loadBackends={async () => BACKENDS}
        loadChoices={async () => choices}
        create={async b => {
          body = b;
          return { id: 'x' } as any;
        }}
        defaultCwd="proj"
        onCreated={() => undefined}
        onCancel={() => undefined}
      />
    );
    await settle();
    expect(select(el, 'Permission mode')?.value).toBe('plan');
    expect(select(el, 'Model')?.value).toBe('opus');
    const profiles = Array.from(select(el, 'Environment profile')!.options).map(o => o.value);
    expect(profiles).toEqual(['', 'staging', 'prod']);
    const sandboxes = Array.from(select(el, 'Sandbox')!.options).map(o => o.textContent);
    expect(sandboxes).toEqual(['server default', 'Local', 'Docker']);
    // Choose a profile and a sandbox, submit: they are in the request.
    const profile = select(el, 'Environment profile')!;
    const sandbox = select(el, 'Sandbox')!;
    await act(async () => {
      setSelect(profile, 'staging');
      setSelect(sandbox, 'docker');
    });
    await act(async () => {
      (el.querySelector('form') as HTMLFormElement).dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    expect(body).toMatchObject({ backend: 'claude', permission_mode: 'plan', model: 'opus', env_profile: 'staging', sandbox: 'docker', cwd: 'proj' });
  });

  it("lets the user's own settings win over the server's", async () => {
    const el = mount(
      <NewSessionForm
        loadBackends={async () => BACKENDS}
        loadChoices={async () => choices}
        create={async () => ({ id: 'x' }) as any}
        defaultCwd=""
        defaultMode="acceptEdits"
        defaultModel="default"
        onCreated={() => undefined}
        onCancel={() => undefined}
      />
    );
    await settle();
    expect(select(el, 'Permission mode')?.value).toBe('acceptEdits');
    // the CLI's default is one entry, labelled, whatever the backend calls it
    const model = select(el, 'Model')!;
    expect(model.value).toBe('');
    expect(model.options[model.selectedIndex].textContent).toBe('Default');
    expect(Array.from(model.options).map(o => o.textContent)).toEqual(['Default', 'Opus']);
    const mode = select(el, 'Permission mode')!;
    expect(Array.from(mode.options).map(o => o.textContent)).toEqual(['Ask first', 'Accept edits', 'Plan only', "Don't ask"]);
    expect(mode.options[mode.selectedIndex].textContent).toBe('Accept edits');
    expect(el.querySelector('.jp-Companion-modeHelp')?.textContent).toContain('File edits are accepted');
  });

  it('offers the conversations of a backend that lists them; choosing one sets the folder and forks by default', async () => {
    let body: any = null;
    const asked: string[] = [];
    const el = mount(
      <NewSessionForm
        loadBackends={async () => [{ ...BACKENDS[0], conversations: true }, BACKENDS[1]]}
        loadChoices={async () => ({ sandboxes: [], envProfiles: [], defaults: {} })}
        loadConversations={async backend => {
          asked.push(backend);
          return [
            { id: 'c1', title: 'fix the parser', cwd: '/root/proj', folder: 'proj', updated_at: new Date().toISOString() },
            { id: 'c2', title: 'at the root', cwd: '/root', folder: '.' }
          ];
        }}
        create={async b => {
          body = b;
          return { id: 'x' } as any;
        }}
        defaultCwd="elsewhere"
        onCreated={() => undefined}
        onCancel={() => undefined}
      />
    );
    await settle();
    expect(asked).toEqual(['claude']);
    const list = select(el, 'Conversation to continue')!;
    expect(Array.from(list.options).map(o => o.textContent)).toEqual([
      'a new conversation',
      'fix the parser — proj · just now',
      'at the root — (root)'
    ]);
    expect(el.querySelector('input[aria-label="Fork the conversation"]')).toBeNull();
    await act(async () => setSelect(list, 'c1'));
    expect((el.querySelector('input[aria-label="Folder (relative to the server root)"]') as HTMLInputElement).value).toBe('proj');
    expect((el.querySelector('input[aria-label="Fork the conversation"]') as HTMLInputElement).checked).toBe(true);
    await act(async () => {
      (el.querySelector('form') as HTMLFormElement).dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    expect(body).toMatchObject({ backend: 'claude', cwd: 'proj', resume_session: 'c1', fork: true });
  });

  it('says when an available backend has no credentials, and how to add them', async () => {
    const el = mount(
      <NewSessionForm
        loadBackends={async () => [
          { ...BACKENDS[0], credentials: { configured: false, hint: "run 'claude' in a terminal and log in with /login" } },
          { name: 'codex', label: 'Codex', available: true, credentials: { configured: true, source: 'OPENAI_API_KEY' } }
        ]}
        create={async () => ({ id: 'x' }) as any}
        defaultCwd=""
        onCreated={() => undefined}
        onCancel={() => undefined}
      />
    );
    await settle();
    const claude = el.querySelector('.jp-Companion-backend[data-backend="claude"]')!;
    expect(claude.querySelector('input')!.disabled).toBe(false); // an env profile may bring them
    expect(claude.querySelector('.jp-mod-warning')?.textContent).toContain(
      "no credentials found. run 'claude' in a terminal and log in with /login"
    );
    expect(el.querySelector('.jp-Companion-backend[data-backend="codex"] .jp-mod-warning')).toBeNull();
  });

  it('offers recent folders, the folder browser and the branches of the chosen folder', async () => {
    const asked: string[] = [];
    let body: any = null;
    const el = mount(
      <NewSessionForm
        loadBackends={async () => BACKENDS}
        create={async b => {
          body = b;
          return { id: 'x' } as any;
        }}
        defaultCwd=""
        recentFolders={['proj', 'other/sub']}
        pickFolder={async () => 'picked/folder'}
        loadBranches={async cwd => {
          asked.push(cwd);
          return cwd === 'picked/folder' ? ['main', 'feature/x', 'old'] : [];
        }}
        onCreated={() => undefined}
        onCancel={() => undefined}
      />
    );
    await settle();
    const folder = el.querySelector('input[aria-label="Folder (relative to the server root)"]') as HTMLInputElement;
    expect(Array.from(el.querySelectorAll('#jp-Companion-recentFolders option')).map(o => o.getAttribute('value'))).toEqual([
      'proj',
      'other/sub'
    ]);
    expect(folder.getAttribute('list')).toBe('jp-Companion-recentFolders');
    await act(async () => {
      (el.querySelector('button[aria-label="Choose the folder"]') as HTMLButtonElement).click();
    });
    expect(folder.value).toBe('picked/folder');
    await act(async () => {
      await new Promise(resolve => setTimeout(resolve, 300)); // the branch list follows the folder
    });
    expect(asked[asked.length - 1]).toBe('picked/folder');
    const branch = el.querySelector('input[aria-label="Git branch"]') as HTMLInputElement;
    expect(branch.placeholder).toBe('(current: main)');
    expect(Array.from(el.querySelectorAll('#jp-Companion-branches option')).map(o => o.getAttribute('value'))).toEqual([
      'main',
      'feature/x',
      'old'
    ]);
    await act(async () => setInput(branch, 'brand-new'));
    expect(el.textContent).toContain('No branch of that name yet');
    await act(async () => {
      (el.querySelector('form') as HTMLFormElement).dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    });
    expect(body).toMatchObject({ cwd: 'picked/folder', branch: 'brand-new', create_branch: false });
  });

  it('hides env profile and sandbox when the server has none', async () => {
    const el = mount(
      <NewSessionForm
        loadBackends={async () => BACKENDS}
        loadChoices={async () => ({ sandboxes: [], envProfiles: [], defaults: {} })}
        create={async () => ({ id: 'x' }) as any}
        defaultCwd=""
        onCreated={() => undefined}
        onCancel={() => undefined}
      />
    );
    await settle();
    expect(select(el, 'Environment profile')).toBeNull();
    expect(select(el, 'Sandbox')).toBeNull();
    expect(select(el, 'Permission mode')?.value).toBe('default');
    expect(select(el, 'Model')?.value).toBe('');
  });
});

/** Type into a controlled <input> the way a user does (React listens to the native setter + event). */
function setInput(el: HTMLInputElement, value: string): void {
  const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
  setter.call(el, value);
  el.dispatchEvent(new Event('input', { bubbles: true }));
}

/** Change a controlled <select> the way a user does (React listens to the native setter + event). */
function setSelect(el: HTMLSelectElement, value: string): void {
  const setter = Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value')!.set!;
  setter.call(el, value);
  el.dispatchEvent(new Event('change', { bubbles: true }));
}

describe('stopping a turn', () => {
  it('Escape in the composer stops a running turn (and only then)', () => {
    const calls: string[] = [];
    const props = {
      commands: [],
      models: [],
      onSend: () => calls.push('send'),
      onInterrupt: () => calls.push('interrupt'),
      onModel: () => undefined,
      onMode: () => undefined
    };
    let el = mount(<Composer {...props} busy={true} />);
    const area = el.querySelector('textarea')!;
    act(() => {
      area.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    });
    expect(calls).toEqual(['interrupt']);
    unmount();
    el = mount(<Composer {...props} busy={false} />);
    act(() => {
      el.querySelector('textarea')!.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    });
    expect(calls).toEqual(['interrupt']);
  });

  it('says Stopped, not Turn failed, for an interrupted turn', () => {
    const base = { kind: 'result' as const, key: 'r', seq: 1 };
    expect(resultLabel({ ...base, isError: true, interrupted: true })).toBe('Stopped');
    expect(resultLabel({ ...base, isError: true, interrupted: false })).toBe('Turn failed');
    expect(resultLabel({ ...base, isError: false, interrupted: false })).toBe('Turn done');
  });
});

describe('watch-only access', () => {
  const request = { seq: 2, type: 'permission_request', request_id: 'r1', tool_name: 'Bash',
                    input: { command: 'touch x' } } as CompanionEvent;

  it('shows no composer and no answer buttons to a user without execute, and says why', () => {
    const model = new ChatModel({ sessionId: 's', wsUrl: 'ws://x/', schedule: fn => fn(), socketFactory: () => ({}) as any });
    model.receive({ seq: 1, type: 'user_message', content: 'hello' });
    model.receive(request);
    const watcher = { Markdown: PlainMarkdown, access: { read: true, write: false, execute: false } };
    const el = mount(<UiContext.Provider value={watcher}><ChatView model={model} /></UiContext.Provider>);
    expect(el.querySelector('.jp-Companion-watchOnly')?.textContent).toContain('Watch-only');
    expect(el.querySelector('textarea')).toBeNull();
    expect(el.querySelector('[aria-label="Allow Bash"]')).toBeNull();
    expect(el.textContent).toContain('Waiting for someone who may run the agent here to answer.');
    unmount();
    const owner = { Markdown: PlainMarkdown, access: { read: true, write: true, execute: true } };
    const again = mount(<UiContext.Provider value={owner}><ChatView model={model} /></UiContext.Provider>);
    expect(again.querySelector('.jp-Companion-watchOnly')).toBeNull();
    expect(again.querySelector('[aria-label="Allow Bash"]')).not.toBeNull();
  });

  it('marks a request held over a server restart and keeps it answerable', () => {
    const model = new ChatModel({ sessionId: 's', wsUrl: 'ws://x/', schedule: fn => fn(), socketFactory: () => ({}) as any });
    model.receive(request);
    model.receive({ seq: 3, type: 'error', code: 'server_stopped', held_requests: ['r1'],
                    message: 'The Jupyter server stopped while the agent waited for your permission (Bash).' });
    expect(model.state.pending.r1.held).toBe(true);
    const el = mount(<ChatView model={model} />);
    expect(el.textContent).toContain('Kept over a server restart');
    expect(el.querySelector('[aria-label="Allow Bash"]')).not.toBeNull();
  });
});
