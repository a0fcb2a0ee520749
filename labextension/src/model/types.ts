/**
 * Types of the public API (see API.md): session objects, events and commands.
 *
 * Only the fields the panel uses are typed strictly; everything else is kept
 * through index signatures so newer servers can add fields freely.
 */

/** One of the session phases listed in API.md. */
export type Phase =
  | 'starting'
  | 'initializing'
  | 'ready'
  | 'streaming'
  | 'awaiting_permission'
  | 'compacting'
  | 'reconnecting'
  | 'terminated'
  | string;

/** A permission request as stored in events and in the session object. */
export interface PermissionRequest {
  request_id: string;
  tool_name: string;
  input: Record<string, unknown>;
  /** Kept over a server restart: the agent that asked is gone; answering it resumes the agent. */
  held?: boolean;
  description?: string | null;
  suggestions?: unknown[] | null;
  tool_use_id?: string | null;
  seq?: number | null;
  [key: string]: unknown;
}

/** Git information attached to a session. */
export interface GitInfo {
  branch?: string | null;
  is_worktree?: boolean;
  repo_root?: string | null;
  /** The main working tree of the repository (differs from `repo_root` in a linked worktree). */
  main_repo_root?: string | null;
  ahead?: number | null;
  behind?: number | null;
  head?: string | null;
  default_branch?: string | null;
}

/** The pull-request status of a session's branch (`GET sessions/{id}/pr`, session field `pr`). */
export interface PullRequestInfo {
  available: boolean;
  reason?: string | null;
  branch?: string | null;
  state?: 'open' | 'closed' | 'merged' | null;
  number?: number | null;
  url?: string | null;
  title?: string | null;
  is_draft?: boolean | null;
  checks?: { state: 'pass' | 'fail' | 'pending' | 'none'; total: number; passed: number; failed: number; pending: number } | null;
  review_decision?: 'approved' | 'changes_requested' | 'review_required' | null;
}

/** The worktree a session owns (`removed`/`dirty` once archived). */
export interface WorktreeInfo {
  path: string;
  repo_root?: string | null;
  branch?: string | null;
  temp_branch?: string | null;
  removed?: boolean;
  dirty?: boolean;
}

/** What `POST sessions/{id}/archive` says about the session's worktree. */
export interface ArchiveAnswer {
  ok: boolean;
  worktree?: { cleaned: boolean; dirty: boolean; path: string; branch?: string | null; detail?: string | null };
}

/** The session object returned by `companion/api/sessions`. */
export interface SessionInfo {
  id: string;
  name: string;
  backend: string;
  model?: string | null;
  permission_mode?: string | null;
  cwd: string;
  phase: Phase;
  archived: boolean;
  created_at?: string | number | null;
  last_activity_at?: string | number | null;
  cli_session_id?: string | null;
  pid?: number | null;
  pending_permissions: PermissionRequest[];
  last_seq: number;
  cost_usd?: number | null;
  git?: GitInfo | null;
  pr?: PullRequestInfo | null;
  worktree?: WorktreeInfo | null;
  /** Where the CLI runs: `local`, or a sandbox provider with what it created (a container). */
  sandbox?: SandboxState | string | null;
  /** Prompts sent while a turn runs; each is stored and sent when the turn ends. */
  queued_messages?: QueuedMessage[] | null;
  [key: string]: unknown;
}

/** The `sandbox` field of a session. */
export interface SandboxState {
  provider: string;
  profile?: string;
  container_id?: string;
  container_name?: string;
  image?: string | null;
  ports?: Record<string, number>;
  /** The argv of a shell inside the sandbox (the terminal button runs it). */
  shell?: string[];
}

/** A sandbox profile (`GET sandbox-profiles`). */
export interface SandboxProfile {
  name: string;
  provider: string;
  image?: string;
  dockerfile?: string;
  init_script?: string;
  network?: string;
  cpus?: number;
  memory?: number | string;
  ports?: number[];
  env?: Record<string, string>;
  description?: string;
  [key: string]: unknown;
}

/** A prompt waiting for the running turn to end (`queued_messages` of the session). */
export interface QueuedMessage {
  /** Names it for `cancel_queued`. */
  id: string;
  content: string;
  images?: { media_type: string; data: string }[];
  client_msg_id?: string;
  queued_at?: string;
}

/** An earlier conversation a new session can continue (`GET backends/{name}/conversations`). */
export interface ConversationInfo {
  id: string;
  title: string;
  /** Absolute folder of the conversation, and the same relative to the server root. */
  cwd: string;
  folder: string;
  started_at?: string | null;
  updated_at?: string | null;
}

/** A backend as listed by `companion/api/backends`. */
export interface BackendInfo {
  name: string;
  label: string;
  available: boolean;
  /** True when the backend can list earlier conversations to continue. */
  conversations?: boolean;
  version?: string | null;
  reason?: string | null;
  /** What the CLI says about its credentials (absent when it could not be asked). */
  credentials?: { configured: boolean; source?: string; hint?: string };
  models?: { id: string; label: string }[];
  permission_modes?: string[];
  [key: string]: unknown;
}

/** Content blocks of an assistant message. */
export interface TextBlock {
  type: 'text';
  text: string;
}
export interface ThinkingBlock {
  type: 'thinking';
  thinking: string;
}
export interface ToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: Record<string, unknown>;
}
export type ContentBlock =
  | TextBlock
  | ThinkingBlock
  | ToolUseBlock
  | { type: string; [key: string]: unknown };

/** The envelope shared by every server -> client frame. */
export interface CompanionEvent {
  seq: number | null;
  type: string;
  ts?: string | number;
  session_id?: string;
  [key: string]: unknown;
}

/** Client -> server commands over the WebSocket. */
export type Command =
  | {
      type: 'user_message';
      content: string;
      images?: { media_type: string; data: string }[];
      client_msg_id?: string;
    }
  | {
      type: 'permission_response';
      request_id: string;
      behavior: 'allow' | 'deny';
      updated_input?: Record<string, unknown>;
      updated_permissions?: unknown[];
      message?: string;
      client_msg_id?: string;
    }
  | { type: 'interrupt'; client_msg_id?: string }
  | { type: 'retry'; client_msg_id?: string }
  | { type: 'cancel_queued'; queued_id: string; client_msg_id?: string }
  | { type: 'set_model'; model: string; client_msg_id?: string }
  | { type: 'set_permission_mode'; mode: string; client_msg_id?: string };

/** The permission modes of API.md, in the order the UI offers them. */
export const PERMISSION_MODES = ['default', 'acceptEdits', 'plan', 'bypassPermissions'];

/** An agent's schedule trigger (API.md). */
export interface AgentSchedule {
  cron: string;
  timezone?: string | null;
  missed?: 'run_once' | 'skip';
}

/** An agent as `GET agents` shows it (never its webhook secret; `webhook_secret` only in the
 * answer that made it). */
export interface AgentInfo {
  id: string;
  name: string;
  description?: string | null;
  prompt: string;
  backend: string;
  model?: string | null;
  permission_mode?: string | null;
  cwd?: string | null;
  branch?: string | null;
  worktree?: boolean;
  env_profile?: string | null;
  sandbox?: string | null;
  sandbox_profile?: string | null;
  allowed_tools?: string[];
  enabled: boolean;
  overlap: 'skip' | 'allow';
  triggers: { schedule?: AgentSchedule; webhook?: { enabled: boolean } };
  next_run_at?: string | null;
  next_runs?: string[];
  schedule_text?: string;
  webhook_url?: string;
  webhook_secret?: string;
  disabled_reason?: string | null;
  last_run_at?: string | null;
}

/** One run of an agent. */
export interface RunInfo {
  id: string;
  agent_id: string;
  agent_name?: string;
  trigger: string;
  status: 'running' | 'awaiting_permission' | 'success' | 'error' | 'skipped';
  session_id?: string | null;
  input?: string | null;
  started_at: string;
  ended_at?: string | null;
  error?: string | null;
  cost_usd?: number | null;
}

/** A saved prompt (`@name` in the composer). */
export interface SavedPrompt {
  id: string;
  name: string;
  text: string;
}
