/**
 * What server plugins declare for the panel (`GET companion/api/ui`, hook `register_ui`): plain
 * data the panel renders with its own components. Templates such as `{identifier} · {state}` are
 * filled as plain text; links are only followed when they are http(s).
 */

export interface StatusField {
  key: string;
  label: string;
  format?: 'text' | 'state' | 'url' | 'qr';
}

export interface PageContribution {
  kind: 'page';
  plugin: string;
  id: string;
  label: string;
  description?: string;
  settings?: string[];
  status?: { url: string; fields: StatusField[] };
  toggle?: { key: string; url: string; body_key: string; label_on: string; label_off: string };
}

export interface CreateFieldSpec {
  name: string;
  label: string;
  required?: boolean;
  multiline?: boolean;
  options_url?: string;
  list?: string;
  option_value?: string;
  option_text?: string;
}

export interface CreateFieldContribution {
  kind: 'create_field';
  plugin: string;
  name: string;
  label: string;
  placeholder?: string;
  /** Shown only when one of these backends is chosen. */
  backends?: string[];
  search: { url: string; param: string; list?: string; value: string; text: string; detail?: string };
  create?: { url: string; label: string; value: string; fields: CreateFieldSpec[] };
}

export interface SessionFieldContribution {
  kind: 'session_field';
  plugin: string;
  field: string;
  text: string;
  title?: string;
  href?: string;
}

export interface ArchiveChoiceContribution {
  kind: 'archive_choice';
  plugin: string;
  field: string;
  name: string;
  label: string;
  options: { value: string; label: string }[];
  default?: string;
}

export type Contribution =
  | PageContribution
  | CreateFieldContribution
  | SessionFieldContribution
  | ArchiveChoiceContribution;

/** The contributions of one kind. */
export function ofKind<K extends Contribution['kind']>(
  all: readonly Contribution[] | undefined,
  kind: K
): Extract<Contribution, { kind: K }>[] {
  return (all ?? []).filter((c): c is Extract<Contribution, { kind: K }> => c.kind === kind);
}

/** The value at a dotted key (`funnel.url`) of an object, or undefined. */
export function pick(value: unknown, dotted: string): unknown {
  let current: unknown = value;
  for (const part of dotted.split('.')) {
    if (current === null || typeof current !== 'object') {
      return undefined;
    }
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** A template with `{dotted.keys}` filled from `value` (missing keys: empty), as plain text. */
export function fill(template: string, value: unknown): string {
  return template
    .replace(/\{([A-Za-z0-9_.]+)\}/g, (_match, key: string) => {
      const found = pick(value, key);
      return found === undefined || found === null ? '' : String(found);
    })
    .trim();
}

/** `href` when it is an http(s) URL, else undefined (never `javascript:` and the like). */
export function safeHref(href: string | undefined): string | undefined {
  return href && /^https?:\/\//i.test(href) ? href : undefined;
}

/** The badges a session shows: one per `session_field` contribution whose field it has. */
export function sessionBadges(
  all: readonly Contribution[] | undefined,
  session: Record<string, unknown>
): { key: string; text: string; title?: string; href?: string }[] {
  return ofKind(all, 'session_field')
    .filter(c => session[c.field] !== undefined && session[c.field] !== null)
    .map(c => {
      const value = session[c.field];
      return {
        key: `${c.plugin}:${c.field}`,
        text: fill(c.text, value),
        title: c.title ? fill(c.title, value) : undefined,
        href: c.href ? safeHref(fill(c.href, value)) : undefined
      };
    })
    .filter(b => b.text);
}

/** The archive questions that apply to a session. */
export function archiveChoices(
  all: readonly Contribution[] | undefined,
  session: Record<string, unknown>
): ArchiveChoiceContribution[] {
  return ofKind(all, 'archive_choice').filter(c => session[c.field] !== undefined && session[c.field] !== null);
}
