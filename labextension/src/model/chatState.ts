/**
 * The state of one chat view, as the reducer (`reducer.ts`) builds it from a session's events:
 * the transcript items, tool results, pending permission requests, the live draft and the
 * delivery state of commands sent from the view.
 */
import { ContentBlock, PermissionRequest, Phase, SessionInfo } from './types';

/** A user's prompt in the transcript. */
export interface UserItem {
  kind: 'user';
  key: string;
  seq: number | null;
  content: string;
  images?: { media_type: string; data: string }[];
  clientMsgId?: string;
  /** True while only the local echo exists (not yet stored by the server). */
  local?: boolean;
  /** Sent while the agent was answering: it waits for the turn to end (shown below the answer). */
  queued?: boolean;
}

/** One assistant message (possibly merged from several events). */
export interface AssistantItem {
  kind: 'assistant';
  key: string;
  seq: number;
  messageId: string;
  model?: string;
  blocks: ContentBlock[];
  parentToolUseId?: string | null;
  /** What the agent had written when its CLI died mid-answer (kept by the server). */
  incomplete?: boolean;
}

/** The end of a turn, with its cost and usage. */
export interface ResultItem {
  kind: 'result';
  key: string;
  seq: number;
  isError: boolean;
  /** The user stopped the turn (not a failure). */
  interrupted: boolean;
  durationMs?: number;
  numTurns?: number;
  costUsd?: number;
  usage?: Record<string, unknown>;
  text?: string;
}

/** An error reported by the server or the CLI. */
export interface ErrorItem {
  kind: 'error';
  key: string;
  seq: number | null;
  message: string;
  code?: string;
  /** The CLI died mid-answer: the last prompt can be sent again (`retry` command). */
  retry?: boolean;
}

/** A `notice` from the server or a backend (level info or warning), shown as one line. */
export interface NoticeItem {
  kind: 'notice';
  key: string;
  seq: number;
  level: string;
  code?: string;
  message: string;
}

/** Any other stored event, rendered as a one-line notice. */
export interface SystemItem {
  kind: 'system';
  key: string;
  seq: number;
  text: string;
}

export type TranscriptItem = UserItem | AssistantItem | ResultItem | ErrorItem | NoticeItem | SystemItem;

/** Why the CLI's model requests fail while it retries them (the latest `model_retrying` notice). */
export interface ModelTrouble {
  message: string;
  detail?: string;
  attempt?: number;
  maxAttempts?: number;
}

/** The result of one tool call, keyed by its tool_use id. */
export interface ToolResult {
  content: unknown;
  isError: boolean;
  seq: number;
}

/** How a permission request ended. */
export interface PermissionResolution {
  behavior: string;
  by: string;
  toolUseId?: string | null;
  toolName?: string;
}

/** Information from `session_init`. */
export interface InitInfo {
  model?: string;
  cwd?: string;
  tools?: string[];
  permissionMode?: string;
  slashCommands?: string[];
  skills?: string[];
  backendVersion?: string;
}

/** The live streaming draft (transient deltas). */
export interface StreamingDraft {
  text: string;
  thinking: string;
  messageId?: string;
}

/** Delivery state of one command sent from this view (by client_msg_id). */
export interface CommandStatus {
  /** The command type (`user_message`, `permission_response`, `set_model`, ...). */
  type: string;
  status: 'sending' | 'delivered' | 'failed';
  /** The server had already seen this id (ack with `duplicate: true`). */
  duplicate?: boolean;
  error?: string;
  /** For a permission_response: the request it answers. */
  requestId?: string;
}

/** The commands that change the session's settings or flow (shown near the switchers). */
export const CONTROL_COMMANDS = ['set_model', 'set_permission_mode', 'interrupt'];

/** The latest failure of a control command. */
export interface ControlError {
  clientMsgId: string;
  type: string;
  message: string;
}

/** Everything a chat view renders, derived from events only. */
export interface ChatState {
  lastSeq: number;
  items: TranscriptItem[];
  toolResults: Record<string, ToolResult>;
  /** Pending permission requests by request id, in arrival order. */
  pending: Record<string, PermissionRequest>;
  pendingOrder: string[];
  resolved: Record<string, PermissionResolution>;
  phase: Phase;
  init: InitInfo | null;
  /** The merged `session_update` fields (name, model, permission_mode, git, ...). */
  session: Partial<SessionInfo>;
  streaming: StreamingDraft | null;
  /** The last transient error frame (e.g. a malformed command), not stored. */
  transientError: string | null;
  /** Commands sent from this view, by client_msg_id. */
  commands: Record<string, CommandStatus>;
  /** The latest failed set_model / set_permission_mode / interrupt, until the next one is sent. */
  controlError: ControlError | null;
  /**
   * When (epoch ms, from the event's `ts`) the running turn last showed progress: the agent is
   * working but nothing streams. Null when idle or while text streams.
   */
  waitingSince: number | null;
  /** The CLI cannot reach its model and retries (until the model answers or the turn ends). */
  modelTrouble: ModelTrouble | null;
}
