/** Reading untyped values from event frames without trusting them. */

/** ``value`` when it is a string, else undefined. */
export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** ``value`` when it is a finite number, else undefined. */
export function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** An argv as one POSIX shell command line, every argument single-quoted. */
export function shellCommand(argv: string[]): string {
  return argv.map(arg => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
}
