/**
 * What the panel's manager pages (sandbox profiles, agents) share: a busy flag and a message for
 * the last action, and labelled text fields bound to a draft.
 */
import * as React from 'react';

export interface ActionState {
  busy: boolean;
  message: { error: boolean; text: string } | null;
  setMessage: (message: { error: boolean; text: string } | null) => void;
  /** Run an action: its answer (or its error) becomes the message; the page reloads after it. */
  act: (what: () => Promise<string>) => Promise<void>;
}

export function useActions(reload: () => Promise<void>): ActionState {
  const [message, setMessage] = React.useState<{ error: boolean; text: string } | null>(null);
  const [busy, setBusy] = React.useState(false);
  const act = async (what: () => Promise<string>) => {
    setBusy(true);
    setMessage(null);
    try {
      setMessage({ error: false, text: await what() });
      await reload();
    } catch (err: any) {
      setMessage({ error: true, text: String(err?.message ?? err) });
    } finally {
      setBusy(false);
    }
  };
  return { busy, message, setMessage, act };
}

/** A labelled text field (a textarea with `rows`) of a draft's field. */
export function TextField(props: {
  label: string;
  value: string;
  onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => void;
  rows?: number;
  placeholder?: string;
  aria?: string;
}): JSX.Element {
  const common = { className: 'jp-mod-styled', 'aria-label': props.aria ?? props.label, value: props.value,
                   placeholder: props.placeholder, onChange: props.onChange };
  return (
    <label>
      <span>{props.label}</span>
      {props.rows ? <textarea {...common} rows={props.rows} /> : <input {...common} />}
    </label>
  );
}

/** The message of the last action (an alert when it failed). */
export function ActionMessage(props: { message: { error: boolean; text: string } | null }): JSX.Element | null {
  if (!props.message) {
    return null;
  }
  return (
    <p className={props.message.error ? 'jp-Companion-error' : 'jp-Companion-muted'} role={props.message.error ? 'alert' : 'status'}>
      {props.message.text}
    </p>
  );
}
