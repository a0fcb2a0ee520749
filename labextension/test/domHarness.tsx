/**
 * Mounting React elements in jsdom for the DOM tests, and typing into controlled fields the way
 * a user does (React listens to the native value setter and the input event).
 */
import * as React from 'react';
import { act } from 'react';
import { createRoot, Root } from 'react-dom/client';
import { afterEach, beforeAll } from 'vitest';

let root: Root | null = null;
let host: HTMLElement | null = null;

/** Call once per test file: enables act() and unmounts after each test. */
export function useDomHarness(): void {
  beforeAll(() => {
    (globalThis as any).IS_REACT_ACT_ENVIRONMENT = true;
  });
  afterEach(unmount);
}

/** Render ``element`` into a fresh element of the document. */
export function mount(element: React.ReactElement): HTMLElement {
  host = document.createElement('div');
  document.body.appendChild(host);
  root = createRoot(host);
  act(() => root!.render(element));
  return host;
}

/** Unmount what :func:`mount` rendered last (a test that mounts twice). */
export function unmount(): void {
  act(() => root?.unmount());
  host?.remove();
  root = null;
  host = null;
}

/** Let pending promises and effects run. */
export async function settle(): Promise<void> {
  await act(async () => {
    await new Promise(resolve => setTimeout(resolve, 0));
  });
}
