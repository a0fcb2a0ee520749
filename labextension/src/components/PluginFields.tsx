/**
 * What server plugins add to the panel's session views (see `model/contributions.ts`): badges on
 * sessions (`session_field`), pickers in the New-session form (`create_field`: search as you type,
 * or create an item with a small form) and the choices asked before archiving (`archive_choice`).
 * Everything a plugin or its service returns is shown as text.
 */
import * as React from 'react';
import { UiContext } from './context';
import {
  ArchiveChoiceContribution,
  CreateFieldContribution,
  fill,
  pick,
  sessionBadges
} from '../model/contributions';

/** Calls to plugin routes (relative to `companion/api/`). */
export interface PluginCalls {
  get: (url: string, query?: Record<string, string | undefined>) => Promise<any>;
  post: (url: string, body: unknown) => Promise<any>;
}

/** The plugin badges of a session (a Linear issue, ...): text, with a link when it has one. */
export function SessionBadges(props: { session: Record<string, unknown> }): JSX.Element | null {
  const ui = React.useContext(UiContext);
  const badges = sessionBadges(ui.contributions, props.session);
  if (!badges.length) {
    return null;
  }
  return (
    <span className="jp-Companion-pluginBadges">
      {badges.map(b =>
        b.href ? (
          <a key={b.key} className="jp-Companion-pluginBadge" href={b.href} target="_blank" rel="noopener noreferrer"
             title={b.title} onClick={e => e.stopPropagation()}>
            {b.text}
          </a>
        ) : (
          <span key={b.key} className="jp-Companion-pluginBadge" title={b.title}>{b.text}</span>
        )
      )}
    </span>
  );
}

/** Every `create_field` of the New-session form, each labelled. */
export function PluginCreateFields(props: {
  fields: CreateFieldContribution[];
  backend: string;
  cwd: string;
  values: Record<string, string>;
  onChange: (values: Record<string, string>) => void;
  calls: PluginCalls;
}): JSX.Element {
  return (
    <>
      {props.fields.filter(f => !f.backends || f.backends.includes(props.backend)).map(field => (
        <div key={`${field.plugin}:${field.name}`} className="jp-Companion-pluginField">
          <span>{field.label}</span>
          <CreateFieldPicker field={field} cwd={props.cwd} value={props.values[field.name] ?? ''} calls={props.calls}
                             onChange={value => props.onChange({ ...props.values, [field.name]: value })} />
        </div>
      ))}
    </>
  );
}

/** A `create_field`: search the plugin's items as you type (or create one); the chosen item's
 * value is what the create request sends. */
export function CreateFieldPicker(props: {
  field: CreateFieldContribution;
  cwd: string;
  value: string;
  onChange: (value: string) => void;
  calls: PluginCalls;
}): JSX.Element {
  const { field, calls } = props;
  const [query, setQuery] = React.useState('');
  const [items, setItems] = React.useState<any[]>([]);
  const [error, setError] = React.useState<string | null>(null);
  const [creating, setCreating] = React.useState(false);
  React.useEffect(() => {
    if (!query.trim()) {
      setItems([]);
      return;
    }
    let current = true;
    const timer = window.setTimeout(() => {
      calls
        .get(field.search.url, { [field.search.param]: query, cwd: props.cwd || undefined })
        .then(answer => {
          if (current) {
            setItems((field.search.list ? answer?.[field.search.list] : answer?.items) ?? []);
            setError(null);
          }
        })
        .catch(err => current && setError(String(err?.message ?? err)));
    }, 250);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [query, props.cwd]);
  const chosen = (item: any) => {
    props.onChange(String(pick(item, field.search.value) ?? ''));
    setQuery('');
    setItems([]);
  };
  if (props.value) {
    return (
      <div className="jp-Companion-pickerChosen">
        <span>{props.value}</span>
        <button type="button" className="jp-mod-styled" aria-label={`Clear ${field.label}`} onClick={() => props.onChange('')}>
          Clear
        </button>
      </div>
    );
  }
  return (
    <div className="jp-Companion-picker">
      <input className="jp-mod-styled" aria-label={field.label} placeholder={field.placeholder ?? `Search ${field.label}…`}
             value={query} onChange={e => setQuery(e.target.value)} />
      {error ? <p className="jp-Companion-error" role="alert">{error}</p> : null}
      {items.length ? (
        <ul className="jp-Companion-pickerList" role="listbox" aria-label={`${field.label} results`}>
          {items.map((item, index) => (
            <li key={index} role="option" aria-selected={false} tabIndex={0}
                onClick={() => chosen(item)} onKeyDown={e => e.key === 'Enter' && chosen(item)}>
              <span>{fill(field.search.text, item)}</span>
              {field.search.detail ? <span className="jp-Companion-muted"> {fill(field.search.detail, item)}</span> : null}
            </li>
          ))}
        </ul>
      ) : null}
      {field.create && !creating ? (
        <button type="button" className="jp-mod-styled" onClick={() => setCreating(true)}>{field.create.label}…</button>
      ) : null}
      {field.create && creating ? (
        <CreateForm spec={field.create} cwd={props.cwd} calls={calls} onCancel={() => setCreating(false)}
                    onCreated={item => { setCreating(false); chosen({ ...item, [field.search.value]: pick(item, field.create!.value) }); }} />
      ) : null}
    </div>
  );
}

function CreateForm(props: {
  spec: NonNullable<CreateFieldContribution['create']>;
  cwd: string;
  calls: PluginCalls;
  onCancel: () => void;
  onCreated: (item: any) => void;
}): JSX.Element {
  const { spec, calls } = props;
  const [draft, setDraft] = React.useState<Record<string, string>>({});
  const [options, setOptions] = React.useState<Record<string, { value: string; text: string; selected: boolean }[]>>({});
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  React.useEffect(() => {
    for (const f of spec.fields.filter(f => f.options_url)) {
      calls
        .get(f.options_url!, { cwd: props.cwd || undefined })
        .then(answer => {
          const list: any[] = (f.list ? answer?.[f.list] : answer?.items) ?? [];
          const mapped = list.map(o => ({ value: String(pick(o, f.option_value ?? 'id') ?? ''),
                                          text: fill(f.option_text ?? '{name}', o), selected: Boolean(o.selected) }));
          setOptions(current => ({ ...current, [f.name]: mapped }));
          const preferred = mapped.find(o => o.selected) ?? mapped[0];
          if (preferred) {
            setDraft(current => ({ [f.name]: preferred.value, ...current }));
          }
        })
        .catch(err => setError(String(err?.message ?? err)));
    }
  }, []);
  const missing = spec.fields.filter(f => f.required && !draft[f.name]?.trim());
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      props.onCreated(await calls.post(spec.url, draft));
    } catch (err: any) {
      setError(String(err?.message ?? err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <fieldset className="jp-Companion-createForm">
      <legend>{spec.label}</legend>
      {spec.fields.map(f => (
        <label key={f.name}>
          <span>{f.label}</span>
          {f.options_url ? (
            <select className="jp-mod-styled" aria-label={f.label} value={draft[f.name] ?? ''}
                    onChange={e => setDraft({ ...draft, [f.name]: e.target.value })}>
              {(options[f.name] ?? []).map(o => <option key={o.value} value={o.value}>{o.text}</option>)}
            </select>
          ) : f.multiline ? (
            <textarea className="jp-mod-styled" aria-label={f.label} rows={3} value={draft[f.name] ?? ''}
                      onChange={e => setDraft({ ...draft, [f.name]: e.target.value })} />
          ) : (
            <input className="jp-mod-styled" aria-label={f.label} value={draft[f.name] ?? ''}
                   onChange={e => setDraft({ ...draft, [f.name]: e.target.value })} />
          )}
        </label>
      ))}
      {error ? <p className="jp-Companion-error" role="alert">{error}</p> : null}
      <button type="button" className="jp-mod-styled jp-mod-accept" disabled={busy || missing.length > 0} onClick={() => void submit()}>
        Create
      </button>
      <button type="button" className="jp-mod-styled" onClick={props.onCancel}>Cancel</button>
    </fieldset>
  );
}

/** The body of the question asked before archiving: one select per `archive_choice`. */
export function ArchiveChoices(props: {
  choices: ArchiveChoiceContribution[];
  session: Record<string, unknown>;
  onChange: (values: Record<string, string>) => void;
}): JSX.Element {
  const [values, setValues] = React.useState<Record<string, string>>(
    Object.fromEntries(props.choices.map(c => [c.name, c.default ?? c.options[0]?.value ?? '']))
  );
  React.useEffect(() => props.onChange(values), [values]);
  return (
    <div className="jp-Companion-archiveChoices">
      {props.choices.map(c => (
        <label key={c.name}>
          <span>{c.label}{typeof (props.session[c.field] as any)?.identifier === 'string'
            ? ` (${(props.session[c.field] as any).identifier})` : ''}</span>
          <select className="jp-mod-styled" aria-label={c.label} value={values[c.name]}
                  onChange={e => setValues({ ...values, [c.name]: e.target.value })}>
            {c.options.map(o => <option key={o.value} value={o.value}>{o.label}</option>)}
          </select>
        </label>
      ))}
    </div>
  );
}
