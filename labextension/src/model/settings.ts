/**
 * The panel's user settings (schema/plugin.json) as the code uses them.
 *
 * The defaults of a new session (permission mode, model) count only when the
 * user set them explicitly; otherwise the server's settings apply.
 */

/** User settings (schema/plugin.json). */
export interface CompanionSettings {
  /** Seconds between polls of the session list while the sessions feed is disconnected. */
  refreshInterval: number;
  /** Notify when a session not in view asks for a permission. */
  notifyPermissions: boolean;
  /** Notify when a session not in view ends a turn. */
  notifyTurnEnd: boolean;
  defaultBackend: string;
  /** Set only when the user chose one; otherwise the server's default applies. */
  defaultPermissionMode?: string;
  /** Set only when the user chose one; otherwise the server's default applies. */
  defaultModel?: string;
}

export const DEFAULT_SETTINGS: CompanionSettings = {
  refreshInterval: 30,
  notifyPermissions: true,
  notifyTurnEnd: true,
  defaultBackend: 'claude'
};

/** Settings from the registry: explicit user values of the defaults only (else the server's). */
export function resolveSettings(composite: Record<string, unknown>, user: Record<string, unknown>): CompanionSettings {
  const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);
  const interval = Number(composite.refreshInterval);
  return {
    refreshInterval: Number.isFinite(interval) && interval >= 1 ? interval : DEFAULT_SETTINGS.refreshInterval,
    notifyPermissions: composite.notifyPermissions !== false,
    notifyTurnEnd: composite.notifyTurnEnd !== false,
    defaultBackend: text(composite.defaultBackend) ?? DEFAULT_SETTINGS.defaultBackend,
    defaultPermissionMode: text(user.defaultPermissionMode),
    defaultModel: text(user.defaultModel)
  };
}

