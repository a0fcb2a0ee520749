/**
 * The prompts sent while the agent answers: listed below the answer in progress, marked as
 * waiting, each with a way to withdraw it before it goes.
 */
import * as React from 'react';
import { QueuedPrompt } from '../model/selectors';

export function QueuedPrompts(props: { prompts: QueuedPrompt[]; onCancel: (id: string) => void }): JSX.Element | null {
  if (!props.prompts.length) {
    return null;
  }
  return (
    <section className="jp-Companion-queued" aria-label="Queued messages">
      <div className="jp-Companion-muted jp-Companion-queuedTitle">
        Queued — sent when the agent finishes this turn
      </div>
      {props.prompts.map(prompt => (
        <div key={prompt.key} className="jp-Companion-msg jp-Companion-user jp-mod-queued" data-delivery="queued">
          <div className="jp-Companion-queuedText">{prompt.content}</div>
          {prompt.id ? (
            <button
              type="button"
              className="jp-Button jp-mod-styled"
              aria-label={`Withdraw the queued message: ${prompt.content.slice(0, 60)}`}
              title="Do not send this message"
              onClick={() => props.onCancel(prompt.id as string)}
            >
              Withdraw
            </button>
          ) : null}
        </div>
      ))}
    </section>
  );
}
