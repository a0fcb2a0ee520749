/**
 * The Integrations page: one section per plugin `page` contribution -- its settings (edited through
 * `PATCH settings`, where the plugin may check them: a refused API key comes back as the message),
 * its status fields (text, a state badge, a link with a copy button, or a QR code) and its switch.
 */
import * as React from 'react';
import QRCode from 'qrcode';
import { ActionMessage, useActions } from './forms';
import { PluginCalls } from './PluginFields';
import { PageContribution, StatusField, pick, safeHref } from '../model/contributions';

export interface SettingsSnapshot {
  settings: Record<string, unknown>;
  schema: Record<string, { type?: string; title?: string; secret?: boolean; description?: string; default?: unknown }>;
}

export interface IntegrationsProps {
  load: () => Promise<{ pages: PageContribution[]; settings: SettingsSnapshot }>;
  saveSettings: (changes: Record<string, unknown>) => Promise<unknown>;
  calls: PluginCalls;
  copy: (text: string) => void;
}

export function Integrations(props: IntegrationsProps): JSX.Element {
  const [data, setData] = React.useState<{ pages: PageContribution[]; settings: SettingsSnapshot } | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const reload = async () => {
    try {
      setData(await props.load());
      setError(null);
    } catch (err: any) {
      setError(String(err?.message ?? err));
    }
  };
  React.useEffect(() => void reload(), []);
  if (error) {
    return <p className="jp-Companion-error" role="alert">{error}</p>;
  }
  if (!data) {
    return <p className="jp-Companion-muted">Loading…</p>;
  }
  return (
    <div className="jp-Companion-manager jp-Companion-integrations">
      <h2>Integrations</h2>
      {data.pages.length === 0 ? (
        <p className="jp-Companion-muted">
          No integration is installed. Install one like any Python package (pip install ./plugins/linear, or a
          third party&apos;s) and restart the server.
        </p>
      ) : null}
      {data.pages.map(page => (
        <IntegrationSection key={`${page.plugin}:${page.id}`} page={page} settings={data.settings} {...props} reload={reload} />
      ))}
    </div>
  );
}

function IntegrationSection(props: IntegrationsProps & { page: PageContribution; settings: SettingsSnapshot; reload: () => Promise<void> }): JSX.Element {
  const { page, calls } = props;
  const [status, setStatus] = React.useState<any>(null);
  const refresh = async () => {
    if (page.status) {
      setStatus(await calls.get(page.status.url));
    }
  };
  const actions = useActions(refresh);
  React.useEffect(() => {
    refresh().catch(err => actions.setMessage({ error: true, text: String(err?.message ?? err) }));
  }, []);
  const toggled = page.toggle ? Boolean(pick(status, page.toggle.key)) : false;
  const toggle = () =>
    actions.act(async () => {
      const answer = await calls.post(page.toggle!.url, { [page.toggle!.body_key]: !toggled });
      setStatus(answer);
      if (answer?.error) {
        throw new Error(String(answer.error));
      }
      return answer?.warning ? String(answer.warning) : 'Done.';
    });
  return (
    <section className="jp-Companion-integration" aria-label={page.label}>
      <h3>{page.label}</h3>
      {page.description ? <p className="jp-Companion-muted">{page.description}</p> : null}
      {page.status && status ? (
        <dl className="jp-Companion-statusFields">
          {page.status.fields.map(f => <StatusValue key={f.key} field={f} value={pick(status, f.key)} copy={props.copy} />)}
        </dl>
      ) : null}
      {page.toggle && status ? (
        <button type="button" className="jp-mod-styled jp-mod-accept" disabled={actions.busy} onClick={() => void toggle()}>
          {toggled ? page.toggle.label_on : page.toggle.label_off}
        </button>
      ) : null}
      <ActionMessage message={actions.message} />
      {page.settings?.length ? (
        <details className="jp-Companion-integrationSettings">
          <summary>Settings</summary>
          <SettingsForm names={page.settings} snapshot={props.settings} save={props.saveSettings}
                        onSaved={async () => { await props.reload(); await refresh(); }} />
        </details>
      ) : null}
    </section>
  );
}

function StatusValue(props: { field: StatusField; value: unknown; copy: (text: string) => void }): JSX.Element | null {
  const { field, value } = props;
  if (value === undefined || value === null || value === '') {
    return null;
  }
  const text = typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value);
  const href = field.format === 'url' || field.format === 'qr' ? safeHref(text) : undefined;
  return (
    <>
      <dt>{field.label}</dt>
      <dd>
        {field.format === 'state' ? <span className="jp-Companion-stateBadge">{text}</span> : null}
        {href ? (
          <>
            <a href={href} target="_blank" rel="noopener noreferrer">{text}</a>{' '}
            <button type="button" className="jp-mod-styled" aria-label={`Copy ${field.label}`} onClick={() => props.copy(text)}>
              Copy
            </button>
            {field.format === 'qr' ? <QrCode text={text} label={`QR code of ${field.label}`} /> : null}
          </>
        ) : field.format === 'state' ? null : (
          text
        )}
      </dd>
    </>
  );
}

/** A QR code of `text`, drawn as SVG squares (no HTML from anywhere). */
export function QrCode(props: { text: string; label: string }): JSX.Element | null {
  const code = React.useMemo(() => {
    try {
      return QRCode.create(props.text, { errorCorrectionLevel: 'M' });
    } catch {
      return null;
    }
  }, [props.text]);
  if (!code) {
    return null;
  }
  const size = code.modules.size;
  const squares: JSX.Element[] = [];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (code.modules.get(x, y)) {
        squares.push(<rect key={`${x}-${y}`} x={x + 4} y={y + 4} width={1} height={1} />);
      }
    }
  }
  return (
    <svg className="jp-Companion-qr" role="img" aria-label={props.label} viewBox={`0 0 ${size + 8} ${size + 8}`}
         width={192} height={192} shapeRendering="crispEdges">
      <rect width={size + 8} height={size + 8} fill="#fff" />
      <g fill="#000">{squares}</g>
    </svg>
  );
}

/** The plugin's settings as a form: strings, secrets (a password field showing the masked value),
 * booleans and objects (JSON). Only what changed is sent. */
function SettingsForm(props: {
  names: string[];
  snapshot: SettingsSnapshot;
  save: (changes: Record<string, unknown>) => Promise<unknown>;
  onSaved: () => Promise<void>;
}): JSX.Element {
  const { snapshot } = props;
  const shown = (name: string) => {
    const value = snapshot.settings[name];
    return snapshot.schema[name]?.type === 'object' ? JSON.stringify(value ?? {}, null, 1) : value;
  };
  const [draft, setDraft] = React.useState<Record<string, unknown>>(() =>
    Object.fromEntries(props.names.map(n => [n, shown(n)])));
  const actions = useActions(props.onSaved);
  const save = () =>
    actions.act(async () => {
      const changes: Record<string, unknown> = {};
      for (const name of props.names) {
        if (draft[name] === shown(name)) {
          continue;
        }
        if (snapshot.schema[name]?.type === 'object') {
          try {
            changes[name] = JSON.parse(String(draft[name] || '{}'));
          } catch {
            throw new Error(`${name} must be JSON, such as {"project": "ENG"}`);
          }
        } else {
          changes[name] = draft[name];
        }
      }
      if (!Object.keys(changes).length) {
        return 'Nothing changed.';
      }
      await props.save(changes);
      return 'Saved.';
    });
  return (
    <form className="jp-Companion-settingsForm" onSubmit={e => { e.preventDefault(); void save(); }}>
      {props.names.filter(n => snapshot.schema[n]).map(name => {
        const spec = snapshot.schema[name];
        const set = (value: unknown) => setDraft({ ...draft, [name]: value });
        const label = spec.title ?? name;
        return (
          <label key={name} title={spec.description}>
            <span>{label}</span>
            {spec.type === 'boolean' ? (
              <input type="checkbox" aria-label={label} checked={Boolean(draft[name])} onChange={e => set(e.target.checked)} />
            ) : spec.type === 'object' ? (
              <textarea className="jp-mod-styled" aria-label={label} rows={3} value={String(draft[name] ?? '')}
                        onChange={e => set(e.target.value)} />
            ) : (
              <input className="jp-mod-styled" aria-label={label} type={spec.secret ? 'password' : 'text'}
                     value={String(draft[name] ?? '')} onChange={e => set(e.target.value)} />
            )}
            {spec.description ? <small className="jp-Companion-muted">{spec.description}</small> : null}
          </label>
        );
      })}
      <ActionMessage message={actions.message} />
      <button type="submit" className="jp-mod-styled jp-mod-accept" disabled={actions.busy}>Save</button>
    </form>
  );
}
