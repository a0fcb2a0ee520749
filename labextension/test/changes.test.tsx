// @vitest-environment jsdom
/** The Changes view: unified-diff parsing, the changes model and its rendering. */
import * as React from 'react';
import { act } from 'react';
import { createRoot, Root } from 'react-dom/client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ChangesView } from '../src/components/ChangesView';
import { UiContext } from '../src/components/context';
import {
  ChangesAnswer,
  ChangesBase,
  ChangesModel,
  ChangesSource,
  changesKey,
  DiffAnswer,
  displayedDiffLines,
  parseUnifiedDiff,
  statusLabel
} from '../src/model/changes';
import { initialState, reduceAll } from '../src/model/reducer';

beforeAll(() => {
  (globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;
});

const DIFF = [
  'diff --git a/app.py b/app.py',
  'index 1111111..2222222 100644',
  '--- a/app.py',
  '+++ b/app.py',
  '@@ -1,3 +1,3 @@',
  ' import os',
  '-print("old")',
  '+print("new")',
  ' x = 1',
  '\\ No newline at end of file',
  ''
].join('\n');

class FakeSource implements ChangesSource {
  calls: string[] = [];
  files: ChangesAnswer['files'] = [
    { path: 'app.py', status: 'M', additions: 1, deletions: 1, binary: false, untracked: false },
    { path: 'new.txt', status: 'A', additions: 2, deletions: 0, binary: false, untracked: true },
    { path: 'gone.txt', status: 'D', additions: 0, deletions: 4, binary: false, untracked: false }
  ];
  notRepo = false;
  async changes(id: string, base: ChangesBase): Promise<ChangesAnswer> {
    this.calls.push(`changes ${id} ${base}`);
    if (this.notRepo) {
      throw Object.assign(new Error('not a git repository'), { status: 404 });
    }
    return { repo_root: '/root/repo', base, files: this.files };
  }
  async commits(id: string, limit: number) {
    this.calls.push(`commits ${id} ${limit}`);
    if (this.notRepo) {
      throw Object.assign(new Error('not a git repository'), { status: 404 });
    }
    return [{ sha: 'a'.repeat(40), short_sha: 'aaaaaaa', summary: 'first commit', author_name: 'Ada' }];
  }
  async diff(id: string, file: string, base: ChangesBase): Promise<DiffAnswer> {
    this.calls.push(`diff ${id} ${file} ${base}`);
    return { file, status: 'M', binary: false, untracked: false, diff: DIFF, truncated: false };
  }
}

describe('unified diff', () => {
  it('classifies and numbers the lines from the hunk header', () => {
    const lines = parseUnifiedDiff(DIFF);
    expect(lines.map(l => l.kind)).toEqual(['meta', 'meta', 'meta', 'meta', 'hunk', 'ctx', 'del', 'add', 'ctx', 'note']);
    expect(lines[5]).toEqual({ kind: 'ctx', text: 'import os', oldNo: 1, newNo: 1 });
    expect(lines[6]).toEqual({ kind: 'del', text: 'print("old")', oldNo: 2 });
    expect(lines[7]).toEqual({ kind: 'add', text: 'print("new")', newNo: 2 });
    expect(lines[8]).toMatchObject({ oldNo: 3, newNo: 3 });
    expect(parseUnifiedDiff('')).toEqual([]);
    expect(displayedDiffLines(DIFF).map(l => l.kind)).toEqual(['hunk', 'ctx', 'del', 'add', 'ctx', 'note']);
    const created = 'diff --git a/n b/n\nnew file mode 100644\nindex 0000000..e69de29\n';
    expect(displayedDiffLines(created)).toEqual([{ kind: 'meta', text: 'new file mode 100644' }]);
  });

  it('labels git status letters', () => {
    const file = { path: 'a', status: 'R100', additions: 0, deletions: 0, binary: false, untracked: false };
    expect(statusLabel(file)).toBe('renamed');
    expect(statusLabel({ ...file, status: 'A', untracked: true })).toBe('untracked');
    expect(statusLabel({ ...file, status: 'M' })).toBe('modified');
  });
});

describe('changes model', () => {
  it('loads the list, keeps the selected diff current and switches the base', async () => {
    const source = new FakeSource();
    const model = new ChangesModel(source, 's1');
    await model.refresh();
    expect(model.state.files?.map(f => f.path)).toEqual(['app.py', 'new.txt', 'gone.txt']);
    expect(model.state.commits.map(c => c.summary)).toEqual(['first commit']);
    await model.select('app.py');
    expect(model.state.diff?.file).toBe('app.py');
    expect(model.absolutePath('app.py')).toBe('/root/repo/app.py');
    await model.setBase('default');
    expect(source.calls.slice(-2)).toEqual(['changes s1 default', 'diff s1 app.py default']);
    source.files = source.files.filter(f => f.path !== 'app.py');
    await model.refresh();
    expect(model.state.selected).toBeNull();
    expect(model.state.diff).toBeNull();
  });

  it('says so when the folder is not a repository', async () => {
    const source = new FakeSource();
    source.notRepo = true;
    const model = new ChangesModel(source, 's1');
    await model.refresh();
    expect(model.state.files).toEqual([]);
    expect(model.state.error).toMatch(/not in a git repository/);
    expect(model.state.commits).toEqual([]);
  });

  it('refreshes when a turn ends or the git state moves, not on every event', () => {
    const start = reduceAll(initialState({ id: 's' } as any), [{ seq: 1, type: 'user_message', content: 'hi' }]);
    const streamed = reduceAll(start, [{ seq: 2, type: 'assistant', message: { id: 'm', content: [{ type: 'text', text: 'x' }] } }]);
    expect(changesKey(streamed)).toBe(changesKey(start));
    const ended = reduceAll(streamed, [{ seq: 3, type: 'result', is_error: false }]);
    expect(changesKey(ended)).not.toBe(changesKey(streamed));
    const moved = reduceAll(ended, [{ seq: 4, type: 'session_update', git: { branch: 'main', head: 'abc' } }]);
    expect(changesKey(moved)).not.toBe(changesKey(ended));
  });
});

describe('changes view', () => {
  let root: Root | null = null;
  let host: HTMLElement | null = null;

  afterEach(() => {
    act(() => root?.unmount());
    host?.remove();
  });

  it('lists the files, shows a diff and opens the file', async () => {
    const source = new FakeSource();
    const model = new ChangesModel(source, 's1');
    const opened: string[] = [];
    host = document.createElement('div');
    document.body.appendChild(host);
    root = createRoot(host);
    act(() =>
      root!.render(
        <UiContext.Provider value={{ openFile: (p: string) => opened.push(p) }}>
          <ChangesView model={model} />
        </UiContext.Provider>
      )
    );
    await act(() => model.refresh());
    const rows = host.querySelectorAll('.jp-Companion-changedFile');
    expect(rows).toHaveLength(3);
    expect(host.textContent).toContain('3 changed files');
    expect(rows[1].querySelector('.jp-Companion-fileStatus')?.textContent).toBe('U');
    expect(host.querySelector('.jp-Companion-commit')?.textContent).toBe('aaaaaaa first commit — Ada');
    await act(async () => (rows[0].querySelector('button') as HTMLButtonElement).click());
    await act(async () => undefined);
    expect(host.querySelectorAll('.jp-Companion-udLine.jp-mod-add')).toHaveLength(1);
    expect(host.querySelector('.jp-Companion-udLine.jp-mod-del')?.textContent).toContain('print("old")');
    (host.querySelector('button[aria-label="Open app.py in the editor"]') as HTMLButtonElement).click();
    expect(opened).toEqual(['/root/repo/app.py']);
    // a deleted file cannot be opened
    await act(async () => (rows[2].querySelector('button') as HTMLButtonElement).click());
    await act(async () => undefined);
    expect(host.querySelector('button[aria-label^="Open gone.txt"]')).toBeNull();
  });
});
