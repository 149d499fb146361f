/** A configuration error: every problem names the file, the key, the value and the fix. */
export interface ConfigProblem {
  /** Dotted key, e.g. `postgres.replicas`. */
  readonly key: string;
  /** The offending value as written (after merging defaults). */
  readonly value: unknown;
  /** What is wrong and how to fix it. */
  readonly message: string;
}

export class ConfigError extends Error {
  constructor(
    public readonly source: string,
    public readonly problems: readonly ConfigProblem[],
  ) {
    super(
      `Invalid configuration in ${source}:\n` +
        problems.map((p) => `  - ${p.key} = ${formatValue(p.value)}: ${p.message}`).join('\n') +
        '\nNothing was written.',
    );
    this.name = 'ConfigError';
  }
}

function formatValue(value: unknown): string {
  if (value === undefined) return '(not set)';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
