/**
 * The sandbox profile manager ("Sandbox Profiles…" in the palette): the profiles of the server,
 * and a form to create, change or delete one. The server's provider checks every field; its
 * message is shown as is. Environment values come back masked; sending a masked value back keeps
 * the stored secret.
 */
import * as React from 'react';
import { ActionMessage, TextField, useActions } from './forms';
import { SandboxInfo } from '../api';
import { SandboxProfile } from '../model/types';

export interface SandboxProfilesProps {
  load: () => Promise<{ profiles: SandboxProfile[]; sandboxes: SandboxInfo[] }>;
  save: (name: string, profile: Partial<SandboxProfile>) => Promise<SandboxProfile>;
  remove: (name: string) => Promise<void>;
}

interface Draft {
  name: string;
  provider: string;
  source: 'image' | 'dockerfile';
  image: string;
  dockerfile: string;
  init_script: string;
  network: string;
  cpus: string;
  memory: string;
  ports: string;
  env: string;
}

const EMPTY: Draft = {
  name: '', provider: '', source: 'image', image: '', dockerfile: '', init_script: '', network: 'bridge',
  cpus: '', memory: '', ports: '', env: ''
};

/** A stored profile as the form's draft. */
export function draftOf(profile: SandboxProfile): Draft {
  return {
    name: profile.name,
    provider: profile.provider,
    source: profile.dockerfile ? 'dockerfile' : 'image',
    image: profile.image ?? '',
    dockerfile: profile.dockerfile ?? '',
    init_script: profile.init_script ?? '',
    network: profile.network ?? 'bridge',
    cpus: profile.cpus !== undefined ? String(profile.cpus) : '',
    memory: profile.memory !== undefined ? String(profile.memory) : '',
    ports: (profile.ports ?? []).join(', '),
    env: Object.entries(profile.env ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')
  };
}

/** The body of `PUT sandbox-profiles/{name}` for a draft; a number field that is not one is sent
 * as typed, so the server names the problem. */
export function bodyOf(draft: Draft): Partial<SandboxProfile> {
  const body: Partial<SandboxProfile> = { provider: draft.provider, network: draft.network };
  if (draft.source === 'image') {
    body.image = draft.image.trim();
  } else {
    body.dockerfile = draft.dockerfile;
  }
  if (draft.init_script.trim()) {
    body.init_script = draft.init_script;
  }
  if (draft.cpus.trim()) {
    body.cpus = Number.isNaN(Number(draft.cpus)) ? (draft.cpus as unknown as number) : Number(draft.cpus);
  }
  if (draft.memory.trim()) {
    body.memory = /^\d+$/.test(draft.memory.trim()) ? Number(draft.memory.trim()) : draft.memory.trim();
  }
  const ports = draft.ports
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(p => (/^\d+$/.test(p) ? Number(p) : p));
  if (ports.length) {
    body.ports = ports as number[];
  }
  const env: Record<string, string> = {};
  for (const line of draft.env.split('\n')) {
    const at = line.indexOf('=');
    if (line.trim() && at > 0) {
      env[line.slice(0, at).trim()] = line.slice(at + 1);
    }
  }
  if (Object.keys(env).length) {
    body.env = env;
  }
  return body;
}

export function SandboxProfiles(props: SandboxProfilesProps): JSX.Element {
  const [profiles, setProfiles] = React.useState<SandboxProfile[] | null>(null);
  const [providers, setProviders] = React.useState<SandboxInfo[]>([]);
  const [draft, setDraft] = React.useState<Draft>(EMPTY);

  const reload = React.useCallback(async () => {
    try {
      const found = await props.load();
      const takes = found.sandboxes.filter(s => s.profiles);
      setProfiles(found.profiles);
      setProviders(takes);
      setDraft(current => (current.provider ? current : { ...current, provider: takes[0]?.name ?? '' }));
    } catch (err: any) {
      setMessage({ error: true, text: String(err?.message ?? err) });
      setProfiles([]);
    }
  }, [props.load]);
  React.useEffect(() => {
    void reload();
  }, [reload]);

  const set = (field: keyof Draft) => (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) =>
    setDraft({ ...draft, [field]: e.target.value });
  /** A labelled text field of the draft (a textarea with `rows`). */
  const text = (key: keyof Draft, label: string, options: { rows?: number; placeholder?: string; aria?: string } = {}) => (
    <TextField label={label} value={String(draft[key] ?? '')} onChange={set(key)} {...options} />
  );

  const { busy, message, setMessage, act } = useActions(reload);
  const save = () =>
    act(async () => {
      const stored = await props.save(draft.name.trim(), bodyOf(draft));
      setDraft(draftOf(stored));
      return `Saved the profile ${stored.name}.`;
    });
  const remove = (name: string) =>
    act(async () => {
      await props.remove(name);
      if (draft.name === name) {
        setDraft({ ...EMPTY, provider: draft.provider });
      }
      return `Deleted the profile ${name}.`;
    });

  if (!profiles) {
    return <div className="jp-Companion-sandboxProfiles jp-Companion-muted">Loading the sandbox profiles…</div>;
  }
  return (
    <div className="jp-Companion-sandboxProfiles">
      <h2>Sandbox profiles</h2>
      {providers.length === 0 ? (
        <p className="jp-Companion-reason jp-mod-warning" role="note">
          No installed sandbox takes profiles (install jupyter-companion-docker for containers).
        </p>
      ) : null}
      <ul className="jp-Companion-profileList" aria-label="Sandbox profiles">
        {profiles.map(p => (
          <li key={p.name}>
            <button type="button" className="jp-Companion-linkButton" onClick={() => setDraft(draftOf(p))}>
              {p.name}
            </button>
            <span className="jp-Companion-muted">
              {' '}
              {p.provider} · {p.image ?? 'Dockerfile'} · {p.network ?? 'bridge'}
            </span>
            <button type="button" className="jp-mod-styled jp-mod-warn" aria-label={`Delete the profile ${p.name}`} disabled={busy} onClick={() => remove(p.name)}>
              Delete
            </button>
          </li>
        ))}
        {profiles.length === 0 ? <li className="jp-Companion-muted">No profile yet.</li> : null}
      </ul>
      <form
        className="jp-Companion-profileForm"
        aria-label="Sandbox profile"
        onSubmit={e => {
          e.preventDefault();
          void save();
        }}
      >
        {text('name', 'Name', { aria: 'Profile name' })}
        <label>
          <span>Provider</span>
          <select className="jp-mod-styled" aria-label="Provider" value={draft.provider} onChange={set('provider')}>
            {providers.map(s => (
              <option key={s.name} value={s.name}>
                {s.label ?? s.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>Image from</span>
          <select className="jp-mod-styled" aria-label="Image from" value={draft.source} onChange={set('source')}>
            <option value="image">an image</option>
            <option value="dockerfile">a Dockerfile</option>
          </select>
        </label>
        {draft.source === 'image'
          ? text('image', 'Image', { placeholder: 'python:3.12-slim' })
          : text('dockerfile', 'Dockerfile', { rows: 6 })}
        {text('init_script', 'Init script', { rows: 4, placeholder: 'runs once in each new container' })}
        <label>
          <span>Network</span>
          <select className="jp-mod-styled" aria-label="Network" value={draft.network} onChange={set('network')}>
            <option value="bridge">bridge (its own network)</option>
            <option value="host">host (the server's network)</option>
            <option value="none">none (no network)</option>
          </select>
        </label>
        {text('cpus', 'CPUs', { placeholder: 'no limit' })}
        {text('memory', 'Memory', { placeholder: 'no limit (e.g. 2g)' })}
        {text('ports', 'Ports', { placeholder: 'e.g. 8000, 5173' })}
        {text('env', 'Environment', { rows: 3, placeholder: 'NAME=value, one per line' })}
        <div className="jp-Companion-formActions">
          <button type="button" className="jp-mod-styled" onClick={() => setDraft({ ...EMPTY, provider: draft.provider })}>
            New
          </button>
          <button type="submit" className="jp-mod-styled jp-mod-accept" disabled={busy || !draft.name.trim() || !draft.provider}>
            Save profile
          </button>
        </div>
        <ActionMessage message={message} />
      </form>
    </div>
  );
}
