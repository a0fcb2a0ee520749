/**
 * The new-session form: backend (unavailable ones disabled, with the reason),
 * model, permission mode, folder, git branch / new branch / worktree, env
 * profile, sandbox and sandbox profile (when the server has them; an
 * unavailable sandbox is disabled with its reason), then the creation progress
 * streamed live from the NDJSON answer. The sections themselves are in
 * NewSessionSections.tsx; this component holds the state and builds the request.
 *
 * Model and permission mode are preselected from the user's JupyterLab
 * settings when set there, else from the server's settings
 * (`default_model`, `default_permission_mode`).
 */
import * as React from 'react';
import { CreateSessionRequest, ProgressLine, SandboxInfo } from '../api';
import type { CreateFieldContribution } from '../model/contributions';
import { BackendChoices, CreationSteps, GitFields, SandboxFields, Step, useBranches } from './NewSessionSections';
import { PluginCalls, PluginCreateFields } from './PluginFields';
import { modeDescription, modeLabel, modelMenu, modelValue, timeAgo } from '../model/labels';
import { BackendInfo, ConversationInfo, PERMISSION_MODES, SandboxProfile, SessionInfo } from '../model/types';

/** Optional choices the form offers besides the backends. */
export interface SessionChoices {
  sandboxes: SandboxInfo[];
  envProfiles: string[];
  /** Profiles of the sandboxes that take them (`GET sandbox-profiles`). */
  sandboxProfiles?: SandboxProfile[];
  /** The server-side defaults (`GET settings`). */
  defaults: { permission_mode?: string; model?: string };
  /** Fields plugins add to the form (a Linear issue picker ...) and how to call their routes. */
  fields?: CreateFieldContribution[];
  calls?: PluginCalls;
}

export interface NewSessionFormProps {
  loadBackends: () => Promise<BackendInfo[]>;
  /** Sandboxes, env profiles and server defaults; a failure only hides those fields. */
  loadChoices?: () => Promise<SessionChoices>;
  create: (body: CreateSessionRequest, onLine: (line: ProgressLine) => void) => Promise<SessionInfo>;
  /** Earlier conversations of a backend that the session can continue (backends that list them). */
  loadConversations?: (backend: string) => Promise<ConversationInfo[]>;
  defaultCwd: string;
  defaultBackend?: string;
  /** The user's own setting; when unset the server's default applies. */
  defaultMode?: string;
  /** The user's own setting; when unset the server's default applies. */
  defaultModel?: string;
  onCreated: (session: SessionInfo) => void;
  onCancel: () => void;
  /** Folders of earlier sessions (relative to the server root), offered as you type. */
  recentFolders?: string[];
  /** Let the user pick a folder in JupyterLab's folder browser (relative path, or null). */
  pickFolder?: () => Promise<string | null>;
  /** The branches of the repository holding a folder (empty outside one). */
  loadBranches?: (cwd: string) => Promise<string[]>;
}

/** The label of a conversation in the "Continue" list. */
export function conversationLabel(c: ConversationInfo, now = Date.now()): string {
  const when = timeAgo(c.updated_at ?? c.started_at, now);
  return `${c.title} — ${c.folder === '.' ? '(root)' : c.folder}${when ? ` · ${when}` : ''}`;
}

/** The model to preselect for a backend: the wanted one if that backend offers it (or lists none). */
export function preferredModel(backend: BackendInfo | undefined, wanted: string | undefined): string {
  if (!backend || !wanted) {
    return '';
  }
  const models = backend.models ?? [];
  return models.length === 0 || models.some(m => m.id === wanted) ? wanted : '';
}

/** The permission mode to preselect: the user's setting, else the server's, else `default`. */
export function preferredMode(user: string | undefined, server: string | undefined, modes = PERMISSION_MODES): string {
  for (const mode of [user, server]) {
    if (mode && modes.includes(mode)) {
      return mode;
    }
  }
  return 'default';
}

/** Fold one progress line into the step list (a step updates in place). */
export function applyProgress(steps: Step[], line: ProgressLine): Step[] {
  if (line.type !== 'progress') {
    return steps;
  }
  const key = line.step ?? line.label ?? String(steps.length);
  const next: Step = { step: key, label: line.label ?? key, status: line.status ?? 'in_progress', detail: line.detail };
  const index = steps.findIndex(s => s.step === key);
  if (index < 0) {
    return [...steps, next];
  }
  const copy = steps.slice();
  copy[index] = { ...copy[index], ...next, label: line.label ?? copy[index].label };
  return copy;
}

export function NewSessionForm(props: NewSessionFormProps): JSX.Element {
  const [backends, setBackends] = React.useState<BackendInfo[] | null>(null);
  const [loadError, setLoadError] = React.useState<string | null>(null);
  const [backend, setBackend] = React.useState('');
  const [model, setModel] = React.useState('');
  const [mode, setMode] = React.useState(preferredMode(props.defaultMode, undefined));
  const [choices, setChoices] = React.useState<SessionChoices | null>(null);
  const [sandbox, setSandbox] = React.useState('');
  const [envProfile, setEnvProfile] = React.useState('');
  const [sandboxProfile, setSandboxProfile] = React.useState('');
  const touched = React.useRef({ model: false, mode: false });
  const [cwd, setCwd] = React.useState(props.defaultCwd);
  const [name, setName] = React.useState('');
  const [branch, setBranch] = React.useState('');
  const [createBranch, setCreateBranch] = React.useState(false);
  const branches = useBranches(cwd, props.loadBranches);
  const [worktree, setWorktree] = React.useState(false);
  const [conversations, setConversations] = React.useState<ConversationInfo[] | null>(null);
  const [resume, setResume] = React.useState('');
  const [fork, setFork] = React.useState(true);
  const [steps, setSteps] = React.useState<Step[]>([]);
  const [error, setError] = React.useState<string | null>(null);
  const [creating, setCreating] = React.useState(false);

  React.useEffect(() => {
    let live = true;
    props
      .loadBackends()
      .then(list => {
        if (!live) {
          return;
        }
        setBackends(list);
        const preferred = list.find(b => b.available && b.name === props.defaultBackend) ?? list.find(b => b.available);
        setBackend(preferred?.name ?? '');
      })
      .catch(err => live && setLoadError(String(err?.message ?? err)));
    props
      .loadChoices?.()
      .then(found => live && setChoices(found))
      .catch(() => live && setChoices({ sandboxes: [], envProfiles: [], defaults: {} }));
    return () => {
      live = false;
    };
  }, []);

  const selected = backends?.find(b => b.name === backend);

  // The conversations the chosen backend can continue (only backends that list them).
  React.useEffect(() => {
    setResume('');
    setConversations(null);
    if (!selected?.conversations || !props.loadConversations) {
      return;
    }
    let live = true;
    props
      .loadConversations(selected.name)
      .then(found => live && setConversations(found))
      .catch(() => live && setConversations([]));
    return () => {
      live = false;
    };
  }, [selected?.name]);
  const wantedModel = props.defaultModel || choices?.defaults.model || '';

  // Preselect the defaults once they are known, unless the user already chose.
  React.useEffect(() => {
    if (!touched.current.mode) {
      setMode(preferredMode(props.defaultMode, choices?.defaults.permission_mode, selected?.permission_modes));
    }
    if (!touched.current.model) {
      setModel(preferredModel(selected, wantedModel));
    }
  }, [choices, selected]);

  const sandboxChoice = choices?.sandboxes.find(s => s.name === sandbox);
  const profilesOfSandbox = (choices?.sandboxProfiles ?? []).filter(p => p.provider === sandbox);
  React.useEffect(() => {
    setSandboxProfile(profilesOfSandbox[0]?.name ?? '');
  }, [sandbox, choices]);

  const [pluginValues, setPluginValues] = React.useState<Record<string, string>>({});
  const submit = async () => {
    if (!backend || creating) {
      return;
    }
    setCreating(true);
    setError(null);
    setSteps([]);
    const body: CreateSessionRequest = { backend, permission_mode: mode };
    if (cwd.trim()) {
      body.cwd = cwd.trim();
    }
    if (model) {
      body.model = model;
    }
    if (name.trim()) {
      body.name = name.trim();
    }
    if (branch.trim()) {
      body.branch = branch.trim();
      body.create_branch = createBranch;
    }
    if (worktree) {
      body.worktree = true;
    }
    if (sandbox) {
      body.sandbox = sandbox;
      if (sandboxChoice?.profiles && sandboxProfile) {
        body.sandbox_profile = sandboxProfile;
      }
    }
    if (envProfile) {
      body.env_profile = envProfile;
    }
    if (resume) {
      body.resume_session = resume;
      body.fork = fork;
    }
    const shownFields = (choices?.fields ?? []).filter(f => !f.backends || f.backends.includes(backend));
    Object.assign(body, Object.fromEntries(Object.entries(pluginValues)
      .filter(([name, v]) => v && shownFields.some(f => f.name === name))));
    try {
      const session = await props.create(body, line => setSteps(current => applyProgress(current, line)));
      props.onCreated(session);
    } catch (err: any) {
      setError(String(err?.message ?? err));
      setCreating(false);
    }
  };

  return (
    <form
      className="jp-Companion-newSession"
      aria-label="New agent session"
      onSubmit={e => {
        e.preventDefault();
        void submit();
      }}
      onKeyDown={e => {
        if (e.key === 'Escape') {
          e.preventDefault();
          props.onCancel();
        }
      }}
    >
      <h2 className="jp-Companion-dialogTitle">New agent session</h2>
      {loadError ? <div className="jp-Companion-error" role="alert">Could not list backends: {loadError}</div> : null}
      {backends === null && !loadError ? <div className="jp-Companion-muted">Loading backends…</div> : null}
      {backends ? (
        <BackendChoices
          backends={backends}
          chosen={backend}
          disabled={creating}
          onChoose={name => {
            setBackend(name);
            touched.current.model = false;
          }}
        />
      ) : null}
      <fieldset disabled={creating} className="jp-Companion-fieldsGrid">
        <label>
          <span>Model</span>
          <select
            className="jp-mod-styled"
            aria-label="Model"
            value={modelValue(model)}
            onChange={e => {
              touched.current.model = true;
              setModel(e.target.value);
            }}
          >
            {modelMenu(selected?.models ?? [], model).map(m => (
              <option key={m.value} value={m.value}>
                {m.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>Permission mode</span>
          <select
            className="jp-mod-styled"
            aria-label="Permission mode"
            value={mode}
            onChange={e => {
              touched.current.mode = true;
              setMode(e.target.value);
            }}
          >
            {(selected?.permission_modes ?? PERMISSION_MODES).map(m => (
              <option key={m} value={m} title={modeDescription(m)}>
                {modeLabel(m)}
              </option>
            ))}
          </select>
        </label>
        <div className="jp-Companion-muted jp-Companion-modeHelp">{modeDescription(mode)}</div>
        {conversations && conversations.length ? (
          <label>
            <span>Continue</span>
            <select
              className="jp-mod-styled"
              aria-label="Conversation to continue"
              value={resume}
              onChange={e => {
                const id = e.target.value;
                setResume(id);
                const chosen = conversations.find(c => c.id === id);
                if (chosen) {
                  setCwd(chosen.folder === '.' ? '' : chosen.folder); // a CLI resumes in the folder it was held in
                }
              }}
            >
              <option value="">a new conversation</option>
              {conversations.map(c => (
                <option key={c.id} value={c.id}>
                  {conversationLabel(c)}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        {resume ? (
          <label className="jp-Companion-check">
            <input type="checkbox" checked={fork} onChange={e => setFork(e.target.checked)} aria-label="Fork the conversation" />
            <span>as a copy (fork): the original conversation stays as it was</span>
          </label>
        ) : null}
        <label>
          <span>Folder</span>
          <span className="jp-Companion-fieldWithButton">
            <input
              className="jp-mod-styled"
              aria-label="Folder (relative to the server root)"
              value={cwd}
              placeholder="(server root)"
              list={props.recentFolders?.length ? 'jp-Companion-recentFolders' : undefined}
              onChange={e => setCwd(e.target.value)}
            />
            {props.pickFolder ? (
              <button
                type="button"
                className="jp-Button jp-mod-styled"
                aria-label="Choose the folder"
                onClick={() =>
                  void props.pickFolder?.().then(picked => {
                    if (picked !== null) {
                      setCwd(picked);
                    }
                  })
                }
              >
                Browse…
              </button>
            ) : null}
          </span>
          {props.recentFolders?.length ? (
            <datalist id="jp-Companion-recentFolders">
              {props.recentFolders.map(f => (
                <option key={f} value={f} />
              ))}
            </datalist>
          ) : null}
        </label>
        {choices && choices.envProfiles.length ? (
          <label>
            <span>Env profile</span>
            <select
              className="jp-mod-styled"
              aria-label="Environment profile"
              value={envProfile}
              onChange={e => setEnvProfile(e.target.value)}
            >
              <option value="">(none)</option>
              {choices.envProfiles.map(name => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        {choices ? (
          <SandboxFields
            sandboxes={choices.sandboxes}
            chosen={sandbox}
            onChoose={setSandbox}
            profiles={profilesOfSandbox}
            profile={sandboxProfile}
            onProfile={setSandboxProfile}
          />
        ) : null}
        <label>
          <span>Name</span>
          <input className="jp-mod-styled" aria-label="Session name" value={name} placeholder="(automatic)" onChange={e => setName(e.target.value)} />
        </label>
        {choices?.calls ? (
          <PluginCreateFields fields={choices.fields ?? []} backend={backend} cwd={cwd} values={pluginValues} onChange={setPluginValues} calls={choices.calls} />
        ) : null}
        <GitFields
          branches={branches}
          branch={branch}
          onBranch={setBranch}
          createBranch={createBranch}
          onCreateBranch={setCreateBranch}
          worktree={worktree}
          onWorktree={setWorktree}
        />
      </fieldset>
      <CreationSteps steps={steps} />
      {error ? (
        <div className="jp-Companion-error" role="alert">
          {error}
        </div>
      ) : null}
      <div className="jp-Companion-dialogButtons">
        <button type="button" className="jp-Button jp-mod-styled jp-mod-reject" aria-label="Cancel" onClick={props.onCancel}>
          Cancel
        </button>
        <button
          type="submit"
          className="jp-Button jp-mod-styled jp-mod-accept"
          aria-label="Create session"
          disabled={!backend || creating}
        >
          {creating ? 'Creating…' : 'Create'}
        </button>
      </div>
    </form>
  );
}
