import * as React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it, vi } from 'vitest';
import { BranchBadge, PullRequestBadge } from '../src/components/ChatHeader';
import { ChatView, promptHistory } from '../src/components/ChatView';
import { formatCost, phaseClass } from '../src/model/labels';
import { matchCommands, stepHistory } from '../src/components/Composer';
import { applyProgress, conversationLabel } from '../src/components/NewSessionForm';
import { timeAgo } from '../src/model/labels';
import { PermissionBanner, describeSuggestion } from '../src/components/PermissionBanner';
import { SessionsList, filterSessions, groupSessions } from '../src/components/SessionsList';
import { ChatModel } from '../src/model/chatModel';
import { SessionInfo } from '../src/model/types';

function session(id: string, cwd: string, extra: Partial<SessionInfo> = {}): SessionInfo {
  return {
    id,
    name: `name-${id}`,
    backend: 'claude',
    cwd,
    phase: 'ready',
    archived: false,
    pending_permissions: [],
    last_seq: 0,
    ...extra
  };
}

describe('permission banner', () => {
  it('labels CLI suggestions', () => {
    expect(
      describeSuggestion({
        type: 'addRules',
        rules: [{ toolName: 'Bash', ruleContent: 'npm test' }],
        behavior: 'allow',
        destination: 'localSettings'
      })
    ).toBe('Allow Bash(npm test) in this project');
    expect(describeSuggestion({ type: 'setMode', mode: 'acceptEdits', destination: 'session' })).toBe(
      'Switch to acceptEdits mode for this session'
    );
    expect(describeSuggestion({ type: 'addDirectories', directories: ['/w'], destination: 'session' })).toBe(
      'Trust /w for this session'
    );
  });

  it('renders the input, Allow, Deny and one button per suggestion', () => {
    const html = renderToStaticMarkup(
      <PermissionBanner
        request={{
          request_id: 'r1',
          tool_name: 'Bash',
          input: { command: 'rm -rf build' },
          suggestions: [{ type: 'setMode', mode: 'acceptEdits', destination: 'session' }]
        }}
        respond={vi.fn()}
      />
    );
    expect(html).toContain('rm -rf build');
    expect(html).toContain('aria-label="Allow Bash"');
    expect(html).toContain('aria-label="Deny Bash"');
    expect(html).toContain('Switch to acceptEdits mode for this session');
  });

  it('renders ExitPlanMode as a plan with approve/reject and AskUserQuestion as choices', () => {
    const plan = renderToStaticMarkup(
      <PermissionBanner request={{ request_id: 'p', tool_name: 'ExitPlanMode', input: { plan: '# Step 1' } }} respond={vi.fn()} />
    );
    expect(plan).toContain('# Step 1');
    expect(plan).toContain('Approve plan');
    expect(plan).toContain('Reject plan');
    const question = renderToStaticMarkup(
      <PermissionBanner
        request={{
          request_id: 'q',
          tool_name: 'AskUserQuestion',
          input: { questions: [{ question: 'Which DB?', header: 'DB', options: [{ label: 'sqlite' }, { label: 'postgres' }] }] }
        }}
        respond={vi.fn()}
      />
    );
    expect(question).toContain('Which DB?');
    expect(question).toContain('sqlite');
    expect(question).toContain('type="radio"');
    expect(question).toContain('Send answers');
  });
});

describe('composer', () => {
  it('matches slash commands', () => {
    expect(matchCommands('/co', ['compact', '/context', 'clear'])).toEqual(['/compact', '/context']);
    expect(matchCommands('/compact now', ['compact'])).toEqual([]);
    expect(matchCommands('hello', ['compact'])).toEqual([]);
  });
});

describe('new-session progress', () => {
  it('updates steps in place', () => {
    let steps = applyProgress([], { type: 'progress', step: 'git', label: 'Checking out', status: 'in_progress' });
    steps = applyProgress(steps, { type: 'progress', step: 'cli', label: 'Starting CLI', status: 'in_progress' });
    steps = applyProgress(steps, { type: 'progress', step: 'git', status: 'done' });
    steps = applyProgress(steps, { type: 'done' });
    expect(steps).toEqual([
      { step: 'git', label: 'Checking out', status: 'done', detail: undefined },
      { step: 'cli', label: 'Starting CLI', status: 'in_progress', detail: undefined }
    ]);
  });
});

describe('sessions sidebar', () => {
  it('groups by repository (worktree sessions under their main repository) or cwd', () => {
    const groups = groupSessions([
      session('a', '/w/p1', { git: { repo_root: '/w/p1', branch: 'main' }, last_activity_at: 1 }),
      session('b', '/w/p1.worktrees/x-1', {
        git: { repo_root: '/w/p1.worktrees/x-1', main_repo_root: '/w/p1', is_worktree: true },
        worktree: { path: '/w/p1.worktrees/x-1', repo_root: '/w/p1' },
        last_activity_at: 5
      }),
      // a worktree made outside the companion: git still knows its main repository
      session('d', '/w/p1-hotfix', { git: { repo_root: '/w/p1-hotfix', main_repo_root: '/w/p1' }, last_activity_at: 3 }),
      session('c', '/w/other')
    ]);
    expect(groups.map(g => g[0])).toEqual(['/w/other', '/w/p1']);
    expect(groups[1][1].map(s => s.id)).toEqual(['b', 'd', 'a']);
  });

  it('renders rows with phase, pending badge, cost and labelled actions', () => {
    const noop = vi.fn();
    const html = renderToStaticMarkup(
      <SessionsList
        sessions={[
          session('a', '/w/p1', {
            phase: 'awaiting_permission',
            cost_usd: 0.5,
            pending_permissions: [{ request_id: 'r', tool_name: 'Bash', input: {} }]
          }),
          session('b', '/w/p1', { phase: 'terminated' })
        ]}
        showArchived={false}
        onToggleArchived={noop}
        onNew={noop}
        onRefresh={noop}
        onOpen={noop}
        onRename={noop}
        onArchive={noop}
        onUnarchive={noop}
        onDelete={noop}
        onRelaunch={noop}
      />
    );
    expect(html).toContain('1 pending permissions');
    expect(html).toContain('$0.50');
    expect(html).toContain('jp-mod-waiting');
    expect(html).toContain('aria-label="Relaunch name-b"');
    expect(html).toContain('aria-label="Delete name-a"');
    expect(html).toContain('aria-label="Archive name-a"');
    expect(html).toContain('aria-label="New session"');
    // JupyterLab's icons (and the extension's own), never a glyph a font may lack
    for (const icon of ['ui-components:edit', 'ui-components:delete', 'ui-components:run', 'jupyter-companion:archive']) {
      expect(html).toContain(`data-icon="${icon}"`);
    }
    expect(html).not.toMatch(/[🗑✎⟳⤓⤒↻⎇]/u);
  });

  it('marks an archived session whose worktree was kept, with its folder', () => {
    const noop = vi.fn();
    const worktree = { path: '/state/worktrees/p1/main-1234', branch: 'main-wt-1' };
    const html = renderToStaticMarkup(
      <SessionsList
        sessions={[
          session('kept', '/w/p1', { archived: true, worktree: { ...worktree, removed: false, dirty: true } }),
          session('gone', '/w/p1', { archived: true, worktree: { ...worktree, removed: true, dirty: false } }),
          session('live', '/w/p1', { worktree })
        ]}
        showArchived={true}
        onToggleArchived={noop}
        onNew={noop}
        onRefresh={noop}
        onOpen={noop}
        onRename={noop}
        onArchive={noop}
        onUnarchive={noop}
        onDelete={noop}
        onRelaunch={noop}
      />
    );
    expect(html.match(/jp-Companion-keptWorktree/g)?.length).toBe(1);
    expect(html).toContain('aria-label="Worktree kept at /state/worktrees/p1/main-1234"');
    expect(html).toContain('(uncommitted changes)');
  });
});

describe('chat view', () => {
  it('renders transcript, streaming draft, banner and composer', () => {
    const model = new ChatModel({ sessionId: 's', wsUrl: 'ws://x/', schedule: fn => fn(), socketFactory: () => ({}) as any });
    for (const ev of [
      { seq: 1, type: 'session_init', model: 'm', slash_commands: ['compact'] },
      { seq: 2, type: 'user_message', content: 'hi' },
      { seq: 3, type: 'assistant', message: { id: 'a', content: [{ type: 'thinking', thinking: 'hmm' }, { type: 'tool_use', id: 't', name: 'Bash', input: { command: 'ls' } }] } },
      { seq: 4, type: 'permission_request', request_id: 'r', tool_name: 'Bash', input: { command: 'ls' }, tool_use_id: 't' },
      { seq: null, type: 'stream_delta', kind: 'text', text: 'typing' }
    ]) {
      model.receive(ev as any);
    }
    const html = renderToStaticMarkup(<ChatView model={model} />);
    expect(html).toContain('hi');
    expect(html).toContain('Thinking');
    expect(html).toContain('typing');
    expect(html).toContain('jp-mod-waiting');
    expect(html).toContain('aria-label="Allow Bash"');
    expect(html).toContain('aria-label="Interrupt the agent"');
    expect(html).toContain('aria-label="Send message"');
    expect(formatCost(0.001)).toBe('$0.0010');
    expect(phaseClass('streaming')).toBe('jp-mod-busy');
  });
});

describe('fork and export buttons', () => {
  it('offer Fork only once the CLI has a conversation, Export whenever it is wired', () => {
    const model = new ChatModel({ sessionId: 's', wsUrl: 'ws://x/', schedule: fn => fn(), socketFactory: () => ({}) as any });
    const fresh = renderToStaticMarkup(<ChatView model={model} onFork={() => undefined} onExport={() => undefined} />);
    expect(fresh).not.toContain('aria-label="Fork the session"');
    expect(fresh).toContain('aria-label="Export the conversation as a notebook"');
    model.receive({ seq: 1, type: 'session_update', cli_session_id: 'c-1' });
    const ready = renderToStaticMarkup(<ChatView model={model} onFork={() => undefined} />);
    expect(ready).toContain('aria-label="Fork the session"');
    expect(renderToStaticMarkup(<ChatView model={model} />)).not.toContain('Fork the session');
  });
});

describe('command errors in the chat view', () => {
  it('shows a refused message, a refused permission answer and a failed mode switch where they belong', () => {
    const sent: string[] = [];
    const model = new ChatModel({
      sessionId: 's',
      wsUrl: 'ws://x/',
      schedule: fn => fn(),
      socketFactory: () => ({ readyState: 1, send: (d: string) => sent.push(d), close: () => undefined }) as any
    });
    model.start();
    model.receive({ seq: 1, type: 'permission_request', request_id: 'r', tool_name: 'Bash', input: { command: 'ls' } });
    const messageId = model.sendMessage('hello');
    model.respond('r', 'allow');
    model.setPermissionMode('plan');
    const ids = sent.map(s => JSON.parse(s).client_msg_id);
    model.receive({ seq: null, type: 'error', message: 'archived', client_msg_id: messageId });
    model.receive({ seq: null, type: 'error', message: 'the CLI is not running', client_msg_id: ids[1] });
    model.receive({ seq: null, type: 'error', message: 'bad mode', client_msg_id: ids[2] });
    model.receive({ seq: null, type: 'brand_new_frame' });
    const html = renderToStaticMarkup(<ChatView model={model} />);
    expect(html).toContain('data-delivery="failed"');
    expect(html).toContain('Not delivered: archived');
    expect(html).toContain('aria-label="Send this message again"');
    expect(html).toContain('The answer was not accepted: the CLI is not running');
    expect(html).toContain('Could not change the permission mode: bad mode');
  });
});

describe('pull request badge', () => {
  it('shows number, state, checks and review, linking to the PR', () => {
    const html = renderToStaticMarkup(
      <PullRequestBadge
        pr={{
          available: true,
          number: 12,
          state: 'open',
          is_draft: false,
          url: 'https://example.test/pr/12',
          title: 'Add a feature',
          checks: { state: 'fail', total: 3, passed: 2, failed: 1, pending: 0 },
          review_decision: 'changes_requested'
        }}
      />
    );
    expect(html).toContain('href="https://example.test/pr/12"');
    expect(html.replace(/<!-- -->/g, '')).toContain('PR #12 open');
    expect(html).toContain('jp-mod-fail');
    expect(html).toContain('review: changes requested');
    expect(html).toContain('rel="noopener noreferrer"');
  });

  it('shows a draft, and nothing without a PR or without gh', () => {
    const draft = renderToStaticMarkup(<PullRequestBadge pr={{ available: true, number: 3, state: 'open', is_draft: true }} />);
    expect(draft).toContain('draft');
    expect(draft).not.toContain('href');
    expect(renderToStaticMarkup(<PullRequestBadge pr={{ available: true, number: null, state: null }} />)).toBe('');
    expect(renderToStaticMarkup(<PullRequestBadge pr={{ available: false, reason: 'gh is not installed' }} />)).toBe('');
    expect(renderToStaticMarkup(<PullRequestBadge pr={null} />)).toBe('');
  });
});

describe('conversation labels', () => {
  it('say how long ago, in words', () => {
    const now = Date.parse('2026-11-26T12:00:00Z');
    expect(timeAgo('2026-11-26T11:59:50Z', now)).toBe('just now');
    expect(timeAgo('2026-11-26T11:15:00Z', now)).toBe('45 min ago');
    expect(timeAgo('2026-11-25T12:00:00Z', now)).toBe('24 h ago');
    expect(timeAgo('2026-11-20T12:00:00Z', now)).toBe('6 days ago');
    expect(timeAgo(null, now)).toBe('');
    expect(timeAgo('garbage', now)).toBe('');
    expect(conversationLabel({ id: 'a', title: 'T', cwd: '/r', folder: '.', started_at: '2026-11-26T11:00:00Z' }, now)).toBe(
      'T — (root) · 1 h ago'
    );
  });
});

describe('branch badge', () => {
  it('shows ahead and behind counts only when there are some', () => {
    const plain = renderToStaticMarkup(<BranchBadge git={{ branch: 'main', ahead: 0, behind: 0 }} />);
    expect(plain.replace(/<!-- -->/g, '')).toContain('data-icon="jupyter-companion:branch"></span> main</span>');
    const moved = renderToStaticMarkup(<BranchBadge git={{ branch: 'feat', ahead: 2, behind: 1, is_worktree: true }} />);
    expect(moved.replace(/<!-- -->/g, '')).toContain('</span> feat ↑2 ↓1');
    expect(moved).toContain('in its own worktree, 2 commit(s) ahead, 1 behind its upstream');
  });
});

describe('sidebar filter', () => {
  it('keeps the sessions that contain every word, in any field', () => {
    const all = [
      session('a', '/w/parser', { name: 'Fix parser', git: { branch: 'feat-x' } }),
      session('b', '/w/docs', { name: 'Docs', backend: 'codex' }),
      session('c', '/w/parser', { name: 'Tests', model: 'opus' })
    ];
    expect(filterSessions(all, '').map(s => s.id)).toEqual(['a', 'b', 'c']);
    expect(filterSessions(all, 'PARSER').map(s => s.id)).toEqual(['a', 'c']);
    expect(filterSessions(all, 'parser feat').map(s => s.id)).toEqual(['a']);
    expect(filterSessions(all, 'codex').map(s => s.id)).toEqual(['b']);
    expect(filterSessions(all, 'opus tests').map(s => s.id)).toEqual(['c']);
    expect(filterSessions(all, 'nothing')).toEqual([]);
  });
});

describe('prompt history', () => {
  it('walks up to older prompts and back down to the draft', () => {
    const history = ['one', 'two', 'three'];
    expect(stepHistory(history, null, 'up', 'draft')).toEqual({ index: 2, text: 'three' });
    expect(stepHistory(history, 2, 'up', 'draft')).toEqual({ index: 1, text: 'two' });
    expect(stepHistory(history, 0, 'up', 'draft')).toBeNull(); // the oldest: stay
    expect(stepHistory(history, 1, 'down', 'draft')).toEqual({ index: 2, text: 'three' });
    expect(stepHistory(history, 2, 'down', 'draft')).toEqual({ index: null, text: 'draft' });
    expect(stepHistory(history, null, 'down', 'draft')).toBeNull();
    expect(stepHistory([], null, 'up', '')).toBeNull();
  });

  it('collects the prompts of the transcript, repeats in a row once', () => {
    const items: any[] = [
      { kind: 'user', key: 'a', seq: 1, content: 'fix it' },
      { kind: 'assistant', key: 'b', seq: 2, blocks: [] },
      { kind: 'user', key: 'c', seq: 3, content: 'fix it' },
      { kind: 'user', key: 'd', seq: 4, content: '  ' },
      { kind: 'user', key: 'e', seq: 5, content: 'and test it' }
    ];
    expect(promptHistory(items)).toEqual(['fix it', 'and test it']);
  });
});

describe('labels', () => {
  it('name phases and modes in words and list the default model once', async () => {
    const { modelMenu, modelValue, phaseLabel, modeLabel } = await import('../src/model/labels');
    expect(phaseLabel('awaiting_permission')).toBe('Waiting for you');
    expect(phaseLabel('streaming')).toBe('Working');
    expect(phaseLabel('brand_new')).toBe('brand_new');
    expect(modeLabel('bypassPermissions')).toBe("Don't ask");
    const claude = [
      { id: 'default', label: "Default (the CLI's choice)" },
      { id: 'opus', label: 'Claude Opus (latest)' }
    ];
    expect(modelMenu(claude, 'claude-opus-4-8[1m]')).toEqual([
      { value: '', label: "Default (the CLI's choice)" },
      { value: 'claude-opus-4-8[1m]', label: 'claude-opus-4-8[1m]' },
      { value: 'opus', label: 'Claude Opus (latest)' }
    ]);
    expect(modelMenu([], null)).toEqual([{ value: '', label: "Default (the CLI's choice)" }]);
    expect(modelMenu(claude, 'default').filter(m => m.label.startsWith('Default'))).toHaveLength(1);
    expect([modelValue('default'), modelValue(null), modelValue('opus')]).toEqual(['', '', 'opus']);
  });
});

describe('open agent session', () => {
  it('lists sessions by name, backend, folder and last activity, newest first, never by id', async () => {
    const { sessionChoices } = await import('../src/model/labels');
    const now = Date.parse('2026-12-02T12:00:00Z');
    const choices = sessionChoices(
      [
        session('0a1b2c3d4e5f', '/w/proj', { name: 'proj', last_activity_at: '2026-12-02T10:00:00Z' }),
        session('ffeeddccbbaa', '/w/other/', { name: 'fix tests', backend: 'codex', last_activity_at: '2026-12-02T11:55:00Z' }),
        session('123412341234', '/w/proj', { name: 'proj', last_activity_at: '2026-12-02T10:00:00Z' })
      ],
      now
    );
    expect(choices.map(c => c.label)).toEqual([
      'fix tests — codex · other · 5 min ago',
      'proj — claude · proj · 2 h ago',
      'proj — claude · proj · 2 h ago (2)'
    ]);
    expect(choices.every(c => !c.label.includes(c.session.id))).toBe(true);
  });
});
