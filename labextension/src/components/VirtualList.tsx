/**
 * A vertically virtualized list with rows of unknown, changing heights.
 *
 * Only the rows inside the viewport (plus an overscan margin) are in the DOM;
 * spacers above and below stand for the others. Row heights start from an
 * estimate and are replaced by measurements (ResizeObserver) as rows render,
 * so the scrollbar converges on the true length. The list follows the bottom
 * (new messages stay visible) while the user is scrolled to the end, and keeps
 * the visible content still when a row above the viewport changes height.
 */
import * as React from 'react';

/** useLayoutEffect in the browser, useEffect elsewhere (server-side rendering in tests). */
const useIsoLayoutEffect = typeof window === 'undefined' ? React.useEffect : React.useLayoutEffect;

/** Viewport height assumed before the list is laid out (and in DOM-less tests). */
export const FALLBACK_VIEWPORT = 800;
/** Distance from the end (px) under which the list counts as scrolled to the bottom. */
export const STICK_THRESHOLD = 40;

export interface VirtualListProps<T> {
  items: T[];
  itemKey: (item: T) => string;
  renderItem: (item: T) => React.ReactNode;
  /** Height (px) assumed for a row not measured yet. */
  estimate?: number;
  /** Extra height (px) rendered above and below the viewport. */
  overscan?: number;
  /** Rendered after the last row (always in the DOM), e.g. the streaming draft. */
  footer?: React.ReactNode;
  /** When this value changes, the list scrolls to the bottom again (e.g. the user sent a message). */
  followKey?: unknown;
  className?: string;
  role?: string;
  'aria-label'?: string;
}

/** The first index whose row ends below `y` (binary search over prefix offsets). */
export function indexAt(offsets: ArrayLike<number>, count: number, y: number): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid + 1] <= y) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

/** The rows [start, end) to render for a viewport, given prefix offsets of the rows. */
export function visibleRange(
  offsets: ArrayLike<number>,
  count: number,
  scrollTop: number,
  viewport: number,
  overscan: number
): [number, number] {
  if (count === 0) {
    return [0, 0];
  }
  const start = Math.min(count - 1, indexAt(offsets, count, Math.max(0, scrollTop - overscan)));
  const end = Math.min(count, indexAt(offsets, count, scrollTop + viewport + overscan) + 1);
  return [start, Math.max(end, start + 1)];
}

function Row(props: {
  rowKey: string;
  index: number;
  observe: (el: Element, key: string) => () => void;
  children: React.ReactNode;
}): JSX.Element {
  const ref = React.useRef<HTMLDivElement>(null);
  const { observe, rowKey } = props;
  useIsoLayoutEffect(() => (ref.current ? observe(ref.current, rowKey) : undefined), [observe, rowKey]);
  return (
    <div className="jp-Companion-row" ref={ref} data-key={rowKey} data-index={props.index}>
      {props.children}
    </div>
  );
}

export function VirtualList<T>(props: VirtualListProps<T>): JSX.Element {
  const { items, itemKey } = props;
  const estimate = props.estimate ?? 72;
  const overscan = props.overscan ?? 800;
  const scroller = React.useRef<HTMLDivElement>(null);
  const heights = React.useRef(new Map<string, number>());
  const stick = React.useRef(true);
  const lastTop = React.useRef(0);
  const [version, setVersion] = React.useState(0);
  const [view, setView] = React.useState({ top: 0, height: 0 });

  const keys = React.useMemo(() => items.map(itemKey), [items, itemKey]);
  const offsets = React.useMemo(() => {
    const out = new Float64Array(keys.length + 1);
    for (let i = 0; i < keys.length; i++) {
      out[i + 1] = out[i] + (heights.current.get(keys[i]) ?? estimate);
    }
    return out;
  }, [keys, version, estimate]);
  const total = offsets[keys.length];

  // Latest layout data for the (asynchronous) ResizeObserver callback.
  const layout = React.useRef({ keys, offsets });
  layout.current = { keys, offsets };

  const observerRef = React.useRef<ResizeObserver | null>(null);
  const observe = React.useCallback((el: Element, key: string) => {
    if (typeof ResizeObserver === 'undefined') {
      return () => undefined; // no layout engine (tests): estimates only
    }
    if (!observerRef.current) {
      observerRef.current = new ResizeObserver(entries => {
        const el = scroller.current;
        let changed = false;
        let shift = 0;
        const { keys: currentKeys, offsets: currentOffsets } = layout.current;
        for (const entry of entries) {
          const target = entry.target as HTMLElement;
          const rowKey = target.dataset.key;
          if (!rowKey || !target.isConnected) {
            continue;
          }
          const height = target.offsetHeight;
          const old = heights.current.get(rowKey) ?? estimate;
          if (height <= 0 || height === old) {
            continue;
          }
          heights.current.set(rowKey, height);
          changed = true;
          // A row entirely above the viewport grew or shrank: keep the visible content still.
          const index = Number(target.dataset.index);
          if (el && !stick.current && currentKeys[index] === rowKey && currentOffsets[index] + old <= el.scrollTop) {
            shift += height - old;
          }
        }
        if (el && shift) {
          el.scrollTop += shift;
        }
        if (el) {
          lastTop.current = el.scrollTop;
        }
        if (changed) {
          setVersion(v => v + 1);
        }
      });
    }
    const observer = observerRef.current;
    observer.observe(el);
    return () => observer.unobserve(el);
  }, []);

  React.useEffect(() => () => observerRef.current?.disconnect(), []);

  const followed = React.useRef(props.followKey);
  if (followed.current !== props.followKey) {
    followed.current = props.followKey;
    stick.current = true;
  }

  const viewport = view.height || scroller.current?.clientHeight || FALLBACK_VIEWPORT;
  const top = stick.current ? Math.max(0, total - viewport) : view.top;
  const [start, end] = visibleRange(offsets, keys.length, top, viewport, overscan);

  useIsoLayoutEffect(() => {
    const el = scroller.current;
    if (!el) {
      return;
    }
    if (stick.current && el.scrollHeight - el.clientHeight - el.scrollTop > 1) {
      el.scrollTop = el.scrollHeight;
    }
    // Remember where this render left the list (including a clamp after content shrank), so
    // the next scroll event only reads a *user's* move up as one.
    lastTop.current = el.scrollTop;
  });

  // Track the viewport size (the panel can be resized without a scroll event).
  React.useEffect(() => {
    const el = scroller.current;
    if (!el || typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(() => setView({ top: el.scrollTop, height: el.clientHeight }));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const rows: JSX.Element[] = [];
  for (let i = start; i < end; i++) {
    rows.push(
      <Row key={keys[i]} rowKey={keys[i]} index={i} observe={observe}>
        {props.renderItem(items[i])}
      </Row>
    );
  }
  return (
    <div
      className={props.className}
      ref={scroller}
      role={props.role}
      aria-label={props['aria-label']}
      tabIndex={0}
      data-total={keys.length}
      data-rendered={end - start}
      onScroll={e => {
        const el = e.currentTarget;
        // At the end: follow new content. Moved up since the last render or measurement (only
        // the user does that): stop following. Otherwise keep the current mode, so rows measured
        // taller while a programmatic scroll is in flight do not unstick the list.
        if (el.scrollHeight - el.scrollTop - el.clientHeight < STICK_THRESHOLD) {
          stick.current = true;
        } else if (el.scrollTop < lastTop.current - 1) {
          stick.current = false;
        }
        lastTop.current = el.scrollTop;
        setView({ top: el.scrollTop, height: el.clientHeight });
      }}
    >
      <div className="jp-Companion-spacer-top" style={{ height: offsets[start] }} aria-hidden="true" />
      {rows}
      <div className="jp-Companion-spacer-bottom" style={{ height: total - offsets[end] }} aria-hidden="true" />
      {props.footer}
    </div>
  );
}
