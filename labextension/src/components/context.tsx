/**
 * What the presentational components need from JupyterLab, injected through
 * a React context so the components stay testable without a running app.
 */
import * as React from 'react';
import type { Contribution } from '../model/contributions';

export interface UiServices {
  /** Render Markdown (sanitized) into the given element. */
  Markdown: React.ComponentType<{ source: string }>;
  /** Open a file path (absolute or relative to the server root) in an editor. */
  openFile?: (path: string) => void;
  /** Open a notebook to read it, without starting a kernel (an exported conversation). */
  openNotebook?: (path: string) => void;
  /** The saved prompts (the composer's `@` menu). */
  savedPrompts?: () => Promise<{ name: string; text: string }[]>;
  /** What server plugins declared for the panel (`GET ui`), once loaded. */
  contributions?: Contribution[];
  /** What this user may do here (`GET status` → `access`); absent: everything. */
  access?: Access;
}

/** Jupyter's actions on the `companion` resource (a watch-only user has `read` alone). */
export interface Access {
  read: boolean;
  write: boolean;
  execute: boolean;
}

/** True when this user may tidy sessions here: rename, archive, delete (a watch-only user may not). */
export function canWrite(ui: UiServices): boolean {
  return ui.access?.write !== false;
}

/** True when this user may run the agent here: start sessions, prompt, answer permissions. */
export function canRun(ui: UiServices): boolean {
  return ui.access?.execute !== false;
}

/** Plain-text fallback used in tests and before JupyterLab is available. */
export function PlainMarkdown(props: { source: string }): JSX.Element {
  return <div className="jp-Companion-markdown jp-Companion-plain">{props.source}</div>;
}

export const UiContext = React.createContext<UiServices>({ Markdown: PlainMarkdown });

/** A clickable file path that opens the file in JupyterLab. */
export function FilePath(props: { path: unknown }): JSX.Element | null {
  const ui = React.useContext(UiContext);
  const path = typeof props.path === 'string' ? props.path : '';
  if (!path) {
    return null;
  }
  if (!ui.openFile) {
    return <code className="jp-Companion-path">{path}</code>;
  }
  return (
    <button
      type="button"
      className="jp-Companion-path jp-Companion-linkButton"
      title={`Open ${path}`}
      aria-label={`Open ${path} in an editor`}
      onClick={() => ui.openFile?.(path)}
    >
      {path}
    </button>
  );
}
