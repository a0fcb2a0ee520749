/**
 * A stand-in for `@jupyterlab/ui-components` in the unit tests (vitest aliases it): the real
 * package needs a browser (`navigator`, `DragEvent`) at import time. Its icons render as an empty
 * element naming the icon, enough to check which icon a component shows; the real-browser tests
 * render the real ones.
 */
import * as React from 'react';

export class LabIcon {
  readonly name: string;
  readonly svgstr: string;
  readonly react: (props: { tag?: string; className?: string }) => JSX.Element;

  constructor(options: { name: string; svgstr: string }) {
    this.name = options.name;
    this.svgstr = options.svgstr;
    const name = options.name;
    this.react = (props: { tag?: string; className?: string }) =>
      React.createElement(props.tag ?? 'div', { className: props.className, 'data-icon': name });
  }
}

const icon = (name: string): LabIcon => new LabIcon({ name: `ui-components:${name}`, svgstr: '<svg/>' });

export const caretDownIcon = icon('caret-down');
export const caretRightIcon = icon('caret-right');
export const deleteIcon = icon('delete');
export const downloadIcon = icon('download');
export const editIcon = icon('edit');
export const refreshIcon = icon('refresh');
export const runIcon = icon('run');
export const terminalIcon = icon('terminal');
