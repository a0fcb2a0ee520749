/**
 * What an agent changed in its session's repository: the changed files
 * (`GET sessions/{id}/changes`) and one file's unified diff
 * (`GET sessions/{id}/diff`), compared with the last commit or with the
 * default branch. The model refreshes the list when the chat says a turn
 * ended or the git state moved, and keeps the selected file's diff current.
 */
import type { ChatState } from './chatState';

/** `base` of the git routes: the last commit or the merge base with the default branch. */
export type ChangesBase = 'head' | 'default';

export interface ChangedFile {
  path: string;
  old_path?: string | null;
  status: string;
  similarity?: number | null;
  additions: number;
  deletions: number;
  binary: boolean;
  untracked: boolean;
}

export interface ChangesAnswer {
  repo_root: string;
  base: string;
  base_ref?: string | null;
  files: ChangedFile[];
}

export interface DiffAnswer {
  file: string;
  old_path?: string | null;
  status: string;
  binary: boolean;
  untracked: boolean;
  diff: string;
  truncated: boolean;
}

/** One commit of `GET sessions/{id}/commits`. */
export interface CommitInfo {
  sha: string;
  short_sha: string;
  summary: string;
  author_name?: string;
  authored_at?: string;
}

/** The REST calls the model needs (lets tests inject a fake). */
export interface ChangesSource {
  changes(sessionId: string, base: ChangesBase): Promise<ChangesAnswer>;
  diff(sessionId: string, file: string, base: ChangesBase): Promise<DiffAnswer>;
  commits(sessionId: string, limit: number): Promise<CommitInfo[]>;
}

/** How many recent commits the view lists. */
export const RECENT_COMMITS = 10;

export type DiffLineKind = 'meta' | 'hunk' | 'add' | 'del' | 'ctx' | 'note';

export interface UnifiedLine {
  kind: DiffLineKind;
  text: string;
  /** Line number in the old / new file (context, removed and added lines). */
  oldNo?: number;
  newNo?: number;
}

const HUNK = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/;

/** Classify the lines of a unified diff and number them from the hunk headers. */
export function parseUnifiedDiff(text: string): UnifiedLine[] {
  const out: UnifiedLine[] = [];
  let oldNo = 0;
  let newNo = 0;
  let inHunk = false;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') {
    lines.pop();
  }
  for (const line of lines) {
    const hunk = HUNK.exec(line);
    if (hunk) {
      oldNo = Number(hunk[1]);
      newNo = Number(hunk[2]);
      inHunk = true;
      out.push({ kind: 'hunk', text: line });
    } else if (!inHunk) {
      out.push({ kind: 'meta', text: line });
    } else if (line.startsWith('+')) {
      out.push({ kind: 'add', text: line.slice(1), newNo: newNo++ });
    } else if (line.startsWith('-')) {
      out.push({ kind: 'del', text: line.slice(1), oldNo: oldNo++ });
    } else if (line.startsWith('\\')) {
      out.push({ kind: 'note', text: line });
    } else if (line.startsWith('diff --git')) {
      inHunk = false;
      out.push({ kind: 'meta', text: line });
    } else {
      out.push({ kind: 'ctx', text: line.startsWith(' ') ? line.slice(1) : line, oldNo: oldNo++, newNo: newNo++ });
    }
  }
  return out;
}

const FILE_HEADER = /^(diff --git |index |--- |\+\+\+ )/;

/** The lines worth showing under a file's name: without git's per-file header lines. */
export function displayedDiffLines(text: string): UnifiedLine[] {
  return parseUnifiedDiff(text).filter(line => !(line.kind === 'meta' && FILE_HEADER.test(line.text)));
}

/** A short label of a git status letter. */
export function statusLabel(file: ChangedFile): string {
  if (file.untracked) {
    return 'untracked';
  }
  switch (file.status[0]) {
    case 'A':
      return 'added';
    case 'D':
      return 'deleted';
    case 'R':
      return 'renamed';
    case 'C':
      return 'copied';
    case 'T':
      return 'type changed';
    default:
      return 'modified';
  }
}

export interface ChangesState {
  base: ChangesBase;
  repoRoot: string | null;
  files: ChangedFile[] | null;
  loading: boolean;
  error: string | null;
  selected: string | null;
  diff: DiffAnswer | null;
  diffError: string | null;
  /** Recent commits of the session's branch (empty outside a repository or on an unborn branch). */
  commits: CommitInfo[];
}

/** Loads and holds the changes of one session. */
export class ChangesModel {
  private _state: ChangesState = {
    base: 'head',
    repoRoot: null,
    files: null,
    loading: false,
    error: null,
    selected: null,
    diff: null,
    diffError: null,
    commits: []
  };
  private listeners = new Set<() => void>();
  private generation = 0;

  constructor(
    private readonly source: ChangesSource,
    readonly sessionId: string
  ) {}

  get state(): ChangesState {
    return this._state;
  }

  /** Call `fn` after every change; returns the unsubscribe function. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Reload the file list (and the selected file's diff, if it is still changed). */
  async refresh(): Promise<void> {
    const generation = ++this.generation;
    this.set({ loading: true });
    const commits = this.source.commits(this.sessionId, RECENT_COMMITS).catch(() => [] as CommitInfo[]);
    try {
      const answer = await this.source.changes(this.sessionId, this._state.base);
      if (generation !== this.generation) {
        return;
      }
      this.set({ commits: await commits });
      const selected = answer.files.some(f => f.path === this._state.selected) ? this._state.selected : null;
      this.set({ files: answer.files, repoRoot: answer.repo_root, loading: false, error: null, selected });
      if (selected) {
        await this.loadDiff(selected);
      } else {
        this.set({ diff: null, diffError: null });
      }
    } catch (err: any) {
      if (generation === this.generation) {
        const status = err?.status;
        const error =
          status === 404
            ? "The session's folder is not in a git repository, so there are no changes to show."
            : `Cannot list the changes: ${err?.message ?? err}`;
        this.set({ loading: false, error, files: status === 404 ? [] : this._state.files });
      }
    }
  }

  /** Compare with the last commit or with the default branch. */
  async setBase(base: ChangesBase): Promise<void> {
    if (base !== this._state.base) {
      this.set({ base });
      await this.refresh();
    }
  }

  /** Show one file's diff (null closes it). */
  async select(path: string | null): Promise<void> {
    this.set({ selected: path, diff: null, diffError: null });
    if (path) {
      await this.loadDiff(path);
    }
  }

  /** The absolute path of a changed file (for opening it in an editor). */
  absolutePath(path: string): string {
    const root = (this._state.repoRoot ?? '').replace(/\/+$/, '');
    return root ? `${root}/${path}` : path;
  }

  private async loadDiff(path: string): Promise<void> {
    const base = this._state.base;
    try {
      const diff = await this.source.diff(this.sessionId, path, base);
      if (this._state.selected === path && this._state.base === base) {
        this.set({ diff, diffError: null });
      }
    } catch (err: any) {
      if (this._state.selected === path) {
        this.set({ diff: null, diffError: `Cannot load the diff: ${err?.message ?? err}` });
      }
    }
  }

  private set(patch: Partial<ChangesState>): void {
    this._state = { ...this._state, ...patch };
    this.listeners.forEach(fn => fn());
  }
}

/**
 * When this changes, the session's files may have changed: a turn ended, or
 * the git state (branch, HEAD) moved.
 */
export function changesKey(state: ChatState): string {
  let lastResult = 0;
  for (let i = state.items.length - 1; i >= 0; i--) {
    const item = state.items[i];
    if (item.kind === 'result') {
      lastResult = item.seq;
      break;
    }
  }
  const git = state.session.git;
  return `${lastResult}:${git?.branch ?? ''}:${git?.head ?? ''}`;
}
