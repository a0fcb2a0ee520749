/**
 * The prompt composer: multi-line input (Enter sends, Shift+Enter newline),
 * slash-command menu, `@` menu of saved prompts, prompt history (Up on the first line, Down on
 * the last), image paste, interrupt button, model and mode switchers.
 */
import * as React from 'react';
import { DEFAULT_MODEL, modeDescription, modeLabel, modelMenu, modelValue } from '../model/labels';
import { PERMISSION_MODES } from '../model/types';

export interface ImageAttachment {
  media_type: string;
  data: string;
  name: string;
}

export interface ComposerProps {
  busy: boolean;
  disabled?: boolean;
  commands: string[];
  /** What each command does (by name, without the slash), shown in the menu. */
  commandInfo?: Record<string, { description?: string; argument_hint?: string }>;
  models: { id: string; label: string }[];
  model?: string | null;
  mode?: string | null;
  /** The latest failed model / mode switch or interrupt, shown next to the switchers. */
  error?: string | null;
  onSend: (text: string, images: ImageAttachment[]) => void;
  onInterrupt: () => void;
  onModel: (model: string) => void;
  onMode: (mode: string) => void;
  /** The user's earlier prompts in this session, oldest first (Up/Down recall them). */
  history?: string[];
  /** The saved prompts (asked for when the user types `@` at the start of a word). */
  loadPrompts?: () => Promise<{ name: string; text: string }[]>;
}

/** The saved prompts matching an `@word` the text ends with (`…@rev` → "Review"), and where it starts. */
export function matchPrompts(text: string, prompts: { name: string; text: string }[]): { at: number; found: { name: string; text: string }[] } {
  const typed = /(^|\s)@([^\s@]*)$/.exec(text);
  if (!typed) {
    return { at: -1, found: [] };
  }
  const word = typed[2].toLowerCase();
  return { at: typed.index + typed[1].length, found: prompts.filter(p => p.name.toLowerCase().includes(word)) };
}

/**
 * One step through the prompt history: ``index`` is the entry shown (null: the user's own draft).
 * Up goes to older prompts, Down back towards the draft.
 */
export function stepHistory(
  history: string[],
  index: number | null,
  direction: 'up' | 'down',
  draft: string
): { index: number | null; text: string } | null {
  if (!history.length) {
    return null;
  }
  if (direction === 'up') {
    const next = index === null ? history.length - 1 : Math.max(0, index - 1);
    return next === index ? null : { index: next, text: history[next] };
  }
  if (index === null) {
    return null;
  }
  return index + 1 < history.length ? { index: index + 1, text: history[index + 1] } : { index: null, text: draft };
}

/** Slash commands matching what the user typed so far (`/co` → `/compact`, ...). */
export function matchCommands(text: string, commands: string[]): string[] {
  if (!text.startsWith('/') || /\s/.test(text)) {
    return [];
  }
  const typed = text.slice(1).toLowerCase();
  return commands
    .map(c => c.replace(/^\//, ''))
    .filter(c => c.toLowerCase().startsWith(typed))
    .map(c => `/${c}`);
}

function readImage(file: File): Promise<ImageAttachment> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      const comma = url.indexOf(',');
      resolve({ media_type: file.type, data: url.slice(comma + 1), name: file.name || 'pasted image' });
    };
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

/** The most of the window a growing composer takes before it scrolls. */
export const COMPOSER_MAX_SHARE = 0.4;

/** Size a textarea to its content, between its `rows` and COMPOSER_MAX_SHARE of the window. */
export function fitToText(area: HTMLTextAreaElement | null): void {
  if (!area) {
    return;
  }
  area.style.height = 'auto'; // measure the content, not the previous size
  const limit = Math.max(80, Math.round(window.innerHeight * COMPOSER_MAX_SHARE));
  const wanted = area.scrollHeight + (area.offsetHeight - area.clientHeight); // borders included
  area.style.height = `${Math.min(wanted, limit)}px`;
  area.style.overflowY = wanted > limit ? 'auto' : 'hidden';
}

export function Composer(props: ComposerProps): JSX.Element {
  const [text, setText] = React.useState('');
  const [images, setImages] = React.useState<ImageAttachment[]>([]);
  const [menuIndex, setMenuIndex] = React.useState(0);
  const [menuClosed, setMenuClosed] = React.useState(false);
  const [historyIndex, setHistoryIndex] = React.useState<number | null>(null);
  const draft = React.useRef('');
  const area = React.useRef<HTMLTextAreaElement>(null);
  const menu = React.useRef<HTMLUListElement>(null);
  const matches = menuClosed ? [] : matchCommands(text, props.commands);
  const [saved, setSaved] = React.useState<{ name: string; text: string }[] | null>(null);
  const prompts = menuClosed || matches.length ? { at: -1, found: [] } : matchPrompts(text, saved ?? []);
  const menuLength = matches.length || prompts.found.length;
  const wantsPrompts = /(^|\s)@[^\s@]*$/.test(text);
  React.useEffect(() => {
    if (wantsPrompts && saved === null && props.loadPrompts) {
      props.loadPrompts().then(setSaved, () => setSaved([]));
    }
    if (!wantsPrompts && saved !== null) {
      setSaved(null); // asked again next time: another tab may have saved one meanwhile
    }
  }, [wantsPrompts]);
  const insertPrompt = (prompt: { text: string }) => {
    setText(text.slice(0, prompts.at) + prompt.text);
    setMenuIndex(0);
  };

  // the chosen entry of a long menu stays in view while the arrows move through it
  React.useEffect(() => {
    menu.current?.querySelector('.jp-mod-active')?.scrollIntoView?.({ block: 'nearest' });
  }, [menuIndex, matches.length]);

  // The box grows with its text (up to a share of the window; it scrolls beyond that).
  React.useLayoutEffect(() => fitToText(area.current), [text]);

  const send = () => {
    const trimmed = text.trim();
    if (!trimmed && images.length === 0) {
      return;
    }
    props.onSend(trimmed, images);
    setText('');
    setImages([]);
    setHistoryIndex(null);
  };

  /** Up on the first line of the text (or Down on its last line) walks the prompt history. */
  const recall = (e: React.KeyboardEvent<HTMLTextAreaElement>): boolean => {
    const area = e.currentTarget;
    const up = e.key === 'ArrowUp';
    const atEdge = up
      ? !text.slice(0, area.selectionStart).includes('\n')
      : !text.slice(area.selectionEnd).includes('\n');
    if ((!up && e.key !== 'ArrowDown') || !atEdge || e.shiftKey || e.altKey || e.metaKey || e.ctrlKey) {
      return false;
    }
    if (historyIndex === null && up) {
      draft.current = text;
    }
    const step = stepHistory(props.history ?? [], historyIndex, up ? 'up' : 'down', draft.current);
    if (!step) {
      return false;
    }
    e.preventDefault();
    setHistoryIndex(step.index);
    setText(step.text);
    return true;
  };

  const onKeyDown = (e: React.KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.nativeEvent.isComposing) {
      return;
    }
    if (!matches.length && prompts.found.length) {
      if (e.key === 'Tab' || (e.key === 'Enter' && !e.shiftKey)) {
        e.preventDefault();
        insertPrompt(prompts.found[Math.min(menuIndex, prompts.found.length - 1)]);
        return;
      }
    }
    if (menuLength) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const delta = e.key === 'ArrowDown' ? 1 : -1;
        setMenuIndex((menuIndex + delta + menuLength) % menuLength);
        return;
      }
      if (e.key === 'Tab' || (e.key === 'Enter' && !e.shiftKey && matches[menuIndex] !== text)) {
        e.preventDefault();
        setText(`${matches[Math.min(menuIndex, matches.length - 1)]} `);
        setMenuIndex(0);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setMenuClosed(true);
        return;
      }
    }
    if (recall(e)) {
      return;
    }
    if (e.key === 'Escape' && props.busy) {
      e.preventDefault(); // as in the CLI: Escape stops the running turn
      props.onInterrupt();
      return;
    }
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      send();
    }
  };

  const onPaste = async (e: React.ClipboardEvent<HTMLTextAreaElement>) => {
    const files = Array.from(e.clipboardData?.files ?? []).filter(f => f.type.startsWith('image/'));
    if (!files.length) {
      return;
    }
    e.preventDefault();
    const read = await Promise.all(files.map(readImage));
    setImages(current => [...current, ...read]);
  };

  const models = modelMenu(props.models, props.model);
  const mode = props.mode ?? 'default';

  return (
    <div className="jp-Companion-composer">
      {matches.length ? (
        <ul className="jp-Companion-slashMenu" role="listbox" aria-label="Slash commands" ref={menu}>
          {matches.map((m, i) => {
            const info = props.commandInfo?.[m.slice(1)];
            return (
              <li
                key={m}
                role="option"
                aria-selected={i === menuIndex}
                className={i === menuIndex ? 'jp-mod-active' : undefined}
                title={info?.description || undefined}
                onMouseDown={e => {
                  e.preventDefault();
                  setText(`${m} `);
                }}
              >
                <span className="jp-Companion-commandName">
                  {m}
                  {info?.argument_hint ? <span className="jp-Companion-commandHint"> {info.argument_hint}</span> : null}
                </span>
                {info?.description ? <span className="jp-Companion-commandDescription">{info.description}</span> : null}
              </li>
            );
          })}
        </ul>
      ) : null}
      {prompts.found.length ? (
        <ul className="jp-Companion-slashMenu" role="listbox" aria-label="Saved prompts" ref={menu}>
          {prompts.found.map((p, i) => (
            <li
              key={p.name}
              role="option"
              aria-selected={i === menuIndex}
              className={i === menuIndex ? 'jp-mod-active' : undefined}
              title={p.text}
              onMouseDown={e => {
                e.preventDefault();
                insertPrompt(p);
              }}
            >
              <span className="jp-Companion-commandName">@{p.name}</span>
              <span className="jp-Companion-commandDescription">{p.text.slice(0, 120)}</span>
            </li>
          ))}
        </ul>
      ) : null}
      {images.length ? (
        <div className="jp-Companion-attachments">
          {images.map((img, i) => (
            <span key={i} className="jp-Companion-attachment">
              <img src={`data:${img.media_type};base64,${img.data}`} alt={img.name} />
              <button
                type="button"
                className="jp-Companion-iconButton"
                aria-label={`Remove ${img.name}`}
                onClick={() => setImages(images.filter((_, k) => k !== i))}
              >
                ×
              </button>
            </span>
          ))}
        </div>
      ) : null}
      <textarea
        ref={area}
        className="jp-Companion-input jp-mod-styled"
        aria-label="Message to the agent"
        placeholder="Message the agent — Enter to send, Shift+Enter for a new line, / for commands, @ for saved prompts, ↑ for earlier prompts"
        value={text}
        rows={3}
        disabled={props.disabled}
        onChange={e => {
          setText(e.target.value);
          setMenuClosed(false);
          setMenuIndex(0);
          setHistoryIndex(null); // an edited prompt is a new draft
        }}
        onKeyDown={onKeyDown}
        onPaste={onPaste}
      />
      {props.error ? (
        <div className="jp-Companion-commandError" role="alert">
          {props.error}
        </div>
      ) : null}
      <div className="jp-Companion-composerBar">
        <label className="jp-Companion-select">
          <span>Model</span>
          <select
            className="jp-mod-styled"
            aria-label="Model"
            value={modelValue(props.model)}
            onChange={e => props.onModel(e.target.value === DEFAULT_MODEL ? 'default' : e.target.value)}
          >
            {models.map(m => (
              <option key={m.value} value={m.value}>
                {m.label}
              </option>
            ))}
          </select>
        </label>
        <label className="jp-Companion-select">
          <span>Mode</span>
          <select
            className="jp-mod-styled"
            aria-label="Permission mode"
            value={mode}
            title={modeDescription(mode)}
            onChange={e => props.onMode(e.target.value)}
          >
            {PERMISSION_MODES.map(m => (
              <option key={m} value={m} title={modeDescription(m)}>
                {modeLabel(m)}
              </option>
            ))}
          </select>
        </label>
        <span className="jp-Companion-spacer" />
        {props.busy ? (
          <button
            type="button"
            className="jp-Button jp-mod-styled jp-mod-warn"
            aria-label="Interrupt the agent"
            onClick={props.onInterrupt}
          >
            Stop
          </button>
        ) : null}
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-accept"
          aria-label="Send message"
          disabled={props.disabled || (!text.trim() && images.length === 0)}
          onClick={send}
        >
          Send
        </button>
      </div>
    </div>
  );
}
