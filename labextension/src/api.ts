/**
 * REST client of `companion/api/...` through JupyterLab's authenticated
 * ServerConnection (token or cookie + XSRF are handled for us).
 */
import { URLExt } from '@jupyterlab/coreutils';
import type { Contribution } from './model/contributions';
import { ServerConnection } from '@jupyterlab/services';
import { AgentInfo, ArchiveAnswer, BackendInfo, ConversationInfo, RunInfo, SandboxProfile, SavedPrompt, SessionInfo } from './model/types';
import { ChangesAnswer, ChangesBase, CommitInfo, DiffAnswer } from './model/changes';

/** An error answered by the server as `{error: "..."}`. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

/** One line of the NDJSON creation stream. */
export interface ProgressLine {
  type: 'progress' | 'done' | 'error' | string;
  step?: string;
  label?: string;
  status?: 'in_progress' | 'done' | 'error' | string;
  detail?: string;
  session?: SessionInfo;
  error?: string;
}

/** A sandbox provider as listed by `GET status`. */
export interface SandboxInfo {
  name: string;
  label?: string;
  description?: string;
  /** False when the provider cannot work now; `reason` says why. */
  available?: boolean;
  reason?: string;
  /** True when sessions in it name a sandbox profile. */
  profiles?: boolean;
}

/** The answer of `GET status` (only what the panel uses is typed). */
export interface ServerStatus {
  version?: string;
  sandboxes?: SandboxInfo[];
  /** What the requesting user may do (a watch-only user: read alone). */
  access?: { read: boolean; write: boolean; execute: boolean };
  [key: string]: unknown;
}

/** Fields of a create request (API.md POST sessions). */
export interface CreateSessionRequest {
  backend: string;
  cwd?: string;
  model?: string;
  permission_mode?: string;
  name?: string;
  branch?: string;
  create_branch?: boolean;
  worktree?: boolean;
  sandbox?: string;
  sandbox_profile?: string;
  env_profile?: string;
  resume_session?: string;
  fork?: boolean;
  [key: string]: unknown;
}

/** A small typed client for the companion REST API. */
export class CompanionApi {
  readonly settings: ServerConnection.ISettings;

  constructor(settings?: ServerConnection.ISettings) {
    this.settings = settings ?? ServerConnection.makeSettings();
  }

  /** The absolute URL of an API path below `companion/api/`. */
  url(...parts: string[]): string {
    return URLExt.join(this.settings.baseUrl, 'companion', 'api', ...parts.map(encodeURIComponent));
  }

  /** Perform a request and decode its JSON answer; non-2xx become ApiError. */
  async request<T>(path: string[], init: RequestInit = {}, query = ''): Promise<T> {
    const response = await ServerConnection.makeRequest(this.url(...path) + query, init, this.settings);
    const text = await response.text();
    let data: any = {};
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = { error: text };
      }
    }
    if (!response.ok) {
      throw new ApiError(data?.error ?? data?.message ?? response.statusText, response.status);
    }
    return data as T;
  }

  private json(method: string, body?: unknown): RequestInit {
    return body === undefined
      ? { method }
      : { method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } };
  }

  listSessions(archived: 'true' | 'false' | 'all' = 'false'): Promise<{ sessions: SessionInfo[] }> {
    return this.request(['sessions'], {}, `?archived=${archived}`);
  }

  getSession(id: string): Promise<SessionInfo> {
    return this.request(['sessions', id]);
  }

  backends(): Promise<{ backends: BackendInfo[] }> {
    return this.request(['backends']);
  }

  /** `GET status`: version, backends, sandboxes, plugins. */
  status(): Promise<ServerStatus> {
    return this.request(['status']);
  }

  /** `GET settings`: the server-side user settings (secrets masked). */
  serverSettings(): Promise<{ settings: Record<string, unknown> }> {
    return this.request(['settings']);
  }

  /** The names of the environment profiles (`GET env-profiles`; values are never needed here). */
  /** `GET sandbox-profiles` (env values masked). */
  async sandboxProfiles(): Promise<SandboxProfile[]> {
    const answer = await this.request<{ profiles?: SandboxProfile[] }>(['sandbox-profiles']);
    return answer.profiles ?? [];
  }

  /** `PUT sandbox-profiles/{name}`: create or replace a profile. */
  async putSandboxProfile(name: string, profile: Partial<SandboxProfile>): Promise<SandboxProfile> {
    return this.request<SandboxProfile>(['sandbox-profiles', name], { method: 'PUT', body: JSON.stringify(profile) });
  }

  /** `DELETE sandbox-profiles/{name}` (409 while a live session uses it). */
  async deleteSandboxProfile(name: string): Promise<void> {
    await this.request(['sandbox-profiles', name], { method: 'DELETE' });
  }

  /** `GET agents`. */
  async agents(): Promise<AgentInfo[]> {
    return (await this.request<{ agents?: AgentInfo[] }>(['agents'])).agents ?? [];
  }

  /** `POST agents` (no id) or `PUT agents/{id}`: the answer of a creation holds the webhook secret. */
  saveAgent(body: Partial<AgentInfo>, id?: string): Promise<AgentInfo> {
    return id ? this.request(['agents', id], this.json('PUT', body)) : this.request(['agents'], this.json('POST', body));
  }

  /** `DELETE agents/{id}` (its runs stay). */
  async deleteAgent(id: string): Promise<void> {
    await this.request(['agents', id], { method: 'DELETE' });
  }

  /** `POST agents/{id}/run` with an input. */
  runAgent(id: string, input: string): Promise<RunInfo> {
    return this.request(['agents', id, 'run'], this.json('POST', input ? { input } : {}));
  }

  /** `POST agents/{id}/regenerate-secret`: a new webhook secret, shown this once. */
  regenerateSecret(id: string): Promise<{ webhook_secret: string; webhook_url: string }> {
    return this.request(['agents', id, 'regenerate-secret'], this.json('POST', {}));
  }

  /** `GET runs` with filters, newest first. */
  runs(filters: { agent_id?: string; status?: string; limit?: number } = {}): Promise<{ runs: RunInfo[]; total: number }> {
    const query = Object.entries(filters)
      .filter(([, v]) => v !== undefined && v !== '')
      .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
      .join('&');
    return this.request(['runs'], {}, query ? `?${query}` : '');
  }

  /** `GET prompts`: the saved prompts. */
  async prompts(): Promise<SavedPrompt[]> {
    return (await this.request<{ prompts?: SavedPrompt[] }>(['prompts'])).prompts ?? [];
  }

  /** `POST prompts` (no id) or `PUT prompts/{id}`. */
  savePrompt(body: { name: string; text: string }, id?: string): Promise<SavedPrompt> {
    return id ? this.request(['prompts', id], this.json('PUT', body)) : this.request(['prompts'], this.json('POST', body));
  }

  /** `DELETE prompts/{id}`. */
  async deletePrompt(id: string): Promise<void> {
    await this.request(['prompts', id], { method: 'DELETE' });
  }

  async envProfileNames(): Promise<string[]> {
    const answer = await this.request<{ profiles?: { name: string }[] }>(['env-profiles']);
    return (answer.profiles ?? []).map(p => p.name).filter(n => typeof n === 'string');
  }

  rename(id: string, name: string): Promise<SessionInfo> {
    return this.request(['sessions', id], this.json('PATCH', { name }));
  }

  remove(id: string): Promise<{ ok: boolean }> {
    return this.request(['sessions', id], { method: 'DELETE' });
  }

  /** POST `sessions/{id}/archive`; `force` discards a worktree's uncommitted changes. */
  archive(id: string, force = false, choices: Record<string, string> = {}): Promise<ArchiveAnswer> {
    return this.request(['sessions', id, 'archive'], this.json('POST', force ? { ...choices, force: true } : choices));
  }

  /** `GET recordings?session_id=`: a session's CLI recordings, newest first. */
  async recordings(sessionId: string): Promise<{ id: string; backend: string; started_at?: string; lines: number }[]> {
    return (await this.request<{ recordings?: any[] }>(['recordings'], {}, `?session_id=${encodeURIComponent(sessionId)}`))
      .recordings ?? [];
  }

  /** `GET recordings/{id}`: the recording's JSON lines. */
  async recordingText(id: string): Promise<string> {
    const response = await ServerConnection.makeRequest(this.url('recordings', id), {}, this.settings);
    if (!response.ok) {
      throw new ApiError(response.statusText || 'could not read the recording', response.status);
    }
    return response.text();
  }

  /** `GET ui`: what server plugins declared for the panel. */
  async contributions(): Promise<Contribution[]> {
    return (await this.request<{ contributions?: Contribution[] }>(['ui'])).contributions ?? [];
  }

  /** GET a plugin's route (`url` relative to `companion/api/`, as its contribution says). */
  pluginGet<T = any>(url: string, query: Record<string, string | undefined> = {}): Promise<T> {
    const params = Object.entries(query)
      .filter(([, v]) => v !== undefined && v !== '')
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    return this.request<T>(url.split('/'), {}, params ? `?${params}` : '');
  }

  /** POST JSON to a plugin's route. */
  pluginPost<T = any>(url: string, body: unknown): Promise<T> {
    return this.request<T>(url.split('/'), this.json('POST', body));
  }

  /** `PATCH settings`: change server-side settings (a plugin may refuse: its message comes back). */
  patchSettings(changes: Record<string, unknown>): Promise<{ settings: Record<string, unknown> }> {
    return this.request(['settings'], this.json('PATCH', changes));
  }

  /** POST `sessions/{id}/{action}` for kill, relaunch, archive, unarchive, interrupt. */
  action(id: string, action: 'kill' | 'relaunch' | 'archive' | 'unarchive' | 'interrupt'): Promise<any> {
    return this.request(['sessions', id, action], this.json('POST', {}));
  }

  /** `GET backends/{name}/conversations`: earlier conversations a new session can continue. */
  async conversations(backend: string, cwd?: string): Promise<ConversationInfo[]> {
    const query = cwd ? `?cwd=${encodeURIComponent(cwd)}` : '';
    const answer = await this.request<{ conversations?: ConversationInfo[] }>(['backends', backend, 'conversations'], {}, query);
    return answer.conversations ?? [];
  }

  /** `GET git/branches?path=`: the branch names of the repository holding a folder (current first,
   * then local, then remote-only ones); empty outside a repository. */
  async branches(path: string): Promise<string[]> {
    const answer = await this.request<{
      current?: string | null;
      local?: { name: string }[];
      remote?: { name: string }[];
    }>(['git', 'branches'], {}, `?path=${encodeURIComponent(path)}`);
    const names = [answer.current, ...(answer.local ?? []).map(b => b.name), ...(answer.remote ?? []).map(b => b.name)];
    return Array.from(new Set(names.filter((n): n is string => typeof n === 'string' && n.length > 0)));
  }

  /** `POST sessions/{id}/export`: save the conversation as a new file in the session's folder. */
  exportSession(id: string, format: 'ipynb' | 'markdown'): Promise<{ ok: boolean; file: string; path: string | null }> {
    return this.request(['sessions', id, 'export'], this.json('POST', { format }));
  }

  /** `GET sessions/{id}/changes`: the files changed since the last commit or the default branch. */
  changes(id: string, base: ChangesBase): Promise<ChangesAnswer> {
    return this.request(['sessions', id, 'changes'], {}, `?base=${base}`);
  }

  /** `GET sessions/{id}/diff`: one file's unified diff. */
  diff(id: string, file: string, base: ChangesBase): Promise<DiffAnswer> {
    return this.request(['sessions', id, 'diff'], {}, `?file=${encodeURIComponent(file)}&base=${base}`);
  }

  /** `GET sessions/{id}/commits`: the newest commits of the session's branch. */
  async commits(id: string, limit: number): Promise<CommitInfo[]> {
    const answer = await this.request<{ commits?: CommitInfo[] }>(['sessions', id, 'commits'], {}, `?limit=${limit}`);
    return answer.commits ?? [];
  }

  events(id: string, after: number, limit?: number): Promise<{ events: any[]; last_seq: number }> {
    const q = `?after=${after}` + (limit ? `&limit=${limit}` : '');
    return this.request(['sessions', id, 'events'], {}, q);
  }

  /**
   * Create a session with the NDJSON progress stream; `onLine` sees every
   * line as it arrives. Resolves with the created session, rejects with the
   * error line's message.
   */
  async createSession(
    body: CreateSessionRequest,
    onLine: (line: ProgressLine) => void
  ): Promise<SessionInfo> {
    const response = await ServerConnection.makeRequest(
      this.url('sessions'),
      {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'Content-Type': 'application/json', Accept: 'application/x-ndjson' }
      },
      this.settings
    );
    if (!response.ok && !(response.headers.get('Content-Type') ?? '').includes('ndjson')) {
      const text = await response.text();
      let message = text || response.statusText;
      try {
        message = JSON.parse(text).error ?? message;
      } catch {
        /* not JSON */
      }
      throw new ApiError(message, response.status);
    }
    let session: SessionInfo | null = null;
    let failure: string | null = null;
    const handle = (raw: string) => {
      const trimmed = raw.trim();
      if (!trimmed) {
        return;
      }
      let line: ProgressLine;
      try {
        line = JSON.parse(trimmed);
      } catch {
        return;
      }
      onLine(line);
      if (line.type === 'done' && line.session) {
        session = line.session;
      } else if (line.type === 'error') {
        failure = line.error ?? 'session creation failed';
      } else if (!line.type && (line as any).id) {
        session = line as unknown as SessionInfo; // server ignored Accept: plain session object
      }
    };
    await readLines(response, handle);
    if (failure) {
      throw new ApiError(failure, response.status >= 400 ? response.status : 400);
    }
    if (!session) {
      throw new ApiError('the server closed the stream without a session', 502);
    }
    return session;
  }
}

/** Call `onLine` for each newline-terminated line of a streamed body. */
export async function readLines(response: Response, onLine: (line: string) => void): Promise<void> {
  if (!response.body || typeof response.body.getReader !== 'function') {
    (await response.text()).split('\n').forEach(onLine);
    return;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      break;
    }
    buffer += decoder.decode(value, { stream: true });
    let index: number;
    while ((index = buffer.indexOf('\n')) >= 0) {
      onLine(buffer.slice(0, index));
      buffer = buffer.slice(index + 1);
    }
  }
  buffer += decoder.decode();
  if (buffer) {
    onLine(buffer);
  }
}

export { newClientMsgId } from './model/ids';
