/**
 * Saved prompts (on the Agents page): the texts a composer inserts with `@name`. Create, change or
 * delete one; names are unique (the server says so).
 */
import * as React from 'react';
import { SavedPrompt } from '../model/types';
import { ActionMessage, TextField, useActions } from './forms';

export interface SavedPromptsProps {
  load: () => Promise<SavedPrompt[]>;
  save: (body: { name: string; text: string }, id?: string) => Promise<SavedPrompt>;
  remove: (id: string) => Promise<void>;
}

export function SavedPrompts(props: SavedPromptsProps): JSX.Element {
  const [prompts, setPrompts] = React.useState<SavedPrompt[]>([]);
  const [draft, setDraft] = React.useState<{ id?: string; name: string; text: string }>({ name: '', text: '' });
  const reload = React.useCallback(async () => setPrompts(await props.load()), [props.load]);
  const { busy, message, act } = useActions(reload);
  React.useEffect(() => {
    void act(async () => {
      await reload();
      return '';
    });
  }, [reload]);

  return (
    <section className="jp-Companion-savedPrompts" aria-label="Saved prompts">
      <h2>Saved prompts</h2>
      <p className="jp-Companion-muted">Type @ and a name in a composer to insert one.</p>
      <ul className="jp-Companion-profileList">
        {prompts.map(p => (
          <li key={p.id}>
            <button type="button" className="jp-Companion-linkButton" onClick={() => setDraft(p)}>@{p.name}</button>
            <span className="jp-Companion-muted">{p.text}</span>
            <button type="button" className="jp-mod-styled jp-mod-warn" aria-label={`Delete the prompt ${p.name}`} disabled={busy}
              onClick={() => act(async () => { await props.remove(p.id); setDraft({ name: '', text: '' }); return `Deleted @${p.name}.`; })}>
              Delete
            </button>
          </li>
        ))}
        {prompts.length === 0 ? <li className="jp-Companion-muted">No saved prompt yet.</li> : null}
      </ul>
      <form className="jp-Companion-profileForm" aria-label="Saved prompt"
        onSubmit={e => { e.preventDefault(); void act(async () => { const stored = await props.save({ name: draft.name, text: draft.text }, draft.id); setDraft(stored); return `Saved @${stored.name}.`; }); }}>
        <TextField label="Prompt name" value={draft.name} onChange={e => setDraft({ ...draft, name: e.target.value })} />
        <TextField label="Prompt text" rows={3} value={draft.text} onChange={e => setDraft({ ...draft, text: e.target.value })} />
        <div className="jp-Companion-formActions">
          <button type="button" className="jp-mod-styled" onClick={() => setDraft({ name: '', text: '' })}>New</button>
          <button type="submit" className="jp-mod-styled jp-mod-accept" disabled={busy || !draft.name.trim() || !draft.text.trim()}>
            Save prompt
          </button>
        </div>
        {message?.text ? <ActionMessage message={message} /> : null}
      </form>
    </section>
  );
}
