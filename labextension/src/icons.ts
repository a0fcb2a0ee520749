/**
 * The extension's icons, as JupyterLab LabIcons (themed with the `jp-icon3` class like
 * JupyterLab's own). JupyterLab's icons are used where it has one (edit, refresh, delete, carets);
 * these cover what it lacks. No Unicode glyph stands in for an icon: fonts without it show a box.
 */
import { LabIcon } from '@jupyterlab/ui-components';

const svg = (body: string): string =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">${body}</g></svg>`;

/** The extension: a chat bubble holding a command prompt (sidebar tab, launcher, chat tabs). */
export const companionIcon = new LabIcon({
  name: 'jupyter-companion:icon',
  svgstr: svg(
    '<path d="M4 3h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H10l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm2.3 4.3-1.4 1.4L7.2 11l-2.3 2.3 1.4 1.4L10 11 6.3 7.3zM11 13v2h6v-2h-6z"/>'
  )
});

/** Archive: a box with a lid and an arrow into it. */
export const archiveIcon = new LabIcon({
  name: 'jupyter-companion:archive',
  svgstr: svg(
    '<path d="M3 3h18v5H3V3zm2 2v1h14V5H5zM4 9h16v12H4V9zm2 2v8h12v-8H6zm5 1h2v3h2l-3 3-3-3h2v-3z"/>'
  )
});

/** Unarchive: the same box with the arrow out of it. */
export const unarchiveIcon = new LabIcon({
  name: 'jupyter-companion:unarchive',
  svgstr: svg(
    '<path d="M3 3h18v5H3V3zm2 2v1h14V5H5zM4 9h16v12H4V9zm2 2v8h12v-8H6zm6 1 3 3h-2v3h-2v-3H9l3-3z"/>'
  )
});

/** A git branch (the session's branch, a kept worktree). */
export const branchIcon = new LabIcon({
  name: 'jupyter-companion:branch',
  svgstr: svg(
    '<path d="M6 2a3 3 0 0 1 1 5.83v8.34A3 3 0 1 1 5 16.17V7.83A3 3 0 0 1 6 2zm0 2a1 1 0 1 0 0 2 1 1 0 0 0 0-2zm12 0a3 3 0 0 1 1 5.83V11a4 4 0 0 1-4 4H9.9a3 3 0 0 0-.73-2H15a2 2 0 0 0 2-2V9.83A3 3 0 0 1 18 4zm0 2a1 1 0 1 0 0 2 1 1 0 0 0 0-2zM6 18a1 1 0 1 0 0 2 1 1 0 0 0 0-2z"/>'
  )
});

/** Fork: one line splitting in two (a copy of the conversation goes its own way). */
export const forkIcon = new LabIcon({
  name: 'jupyter-companion:fork',
  svgstr: svg(
    '<path d="M7 2a3 3 0 0 1 1 5.83V9a2 2 0 0 0 2 2h4a2 2 0 0 0 2-2V7.83a3 3 0 1 1 2 0V9a4 4 0 0 1-4 4h-1v3.17a3 3 0 1 1-2 0V13h-1a4 4 0 0 1-4-4V7.83A3 3 0 0 1 7 2zm0 2a1 1 0 1 0 0 2 1 1 0 0 0 0-2zm10 0a1 1 0 1 0 0 2 1 1 0 0 0 0-2zm-5 14a1 1 0 1 0 0 2 1 1 0 0 0 0-2z"/>'
  )
});
