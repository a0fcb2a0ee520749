/**
 * What the working indicator needs from a session's events: since when the running turn has
 * shown no progress (nothing streams), and why the CLI may be stuck (`model_retrying`).
 */
import { ChatState } from './chatState';
import { asNumber, asString } from './values';
import { CompanionEvent } from './types';


/** When an event was emitted (epoch ms), from its `ts`; 0 when it has none. */
function eventTime(ev: CompanionEvent): number {
  if (typeof ev.ts === 'number') {
    return ev.ts;
  }
  const parsed = typeof ev.ts === 'string' ? Date.parse(ev.ts) : NaN;
  return Number.isFinite(parsed) ? parsed : 0;
}

/**
 * Follow the running turn for the working indicator: the last sign of progress while nothing
 * streams, and whether the CLI is retrying its model.
 */
export function trackProgress(draft: ChatState, ev: CompanionEvent): void {
  switch (ev.type) {
    case 'stream_delta':
      draft.waitingSince = null;
      draft.modelTrouble = null;
      return;
    case 'assistant':
    case 'tool_result':
      draft.modelTrouble = null;
      if (draft.phase === 'streaming') {
        draft.waitingSince = eventTime(ev);
      }
      return;
    case 'phase': {
      const phase = asString(ev.phase);
      if (phase === 'streaming') {
        if (draft.phase !== 'streaming' || draft.waitingSince === null) {
          draft.waitingSince = eventTime(ev);
        }
      } else if (phase) {
        draft.waitingSince = null;
        if (phase !== 'awaiting_permission') {
          draft.modelTrouble = null;
        }
      }
      return;
    }
    case 'result':
      draft.waitingSince = null;
      draft.modelTrouble = null;
      return;
    case 'notice':
      if (ev.code === 'model_retrying') {
        draft.modelTrouble = {
          message: asString(ev.message) ?? 'The model could not be reached; retrying…',
          detail: asString(ev.detail),
          attempt: asNumber(ev.attempt),
          maxAttempts: asNumber(ev.max_attempts)
        };
      }
      return;
  }
}
