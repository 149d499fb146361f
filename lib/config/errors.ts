/** A configuration error: every problem names the file, the key, the value and the fix. */
export interface ConfigProblem {
  /** Dotted key, e.g. `postgres.replicas`. */
  readonly key: string;
  /** The offending value as written (after merging defaults). */
  readonly value: unknown;
  /** What is wrong and how to fix it. */
  readonly message: string;
  /**
   * Where the value comes from when the environment file does not set it (the defaults).
   * @default the environment file named by the error
   */
  readonly origin?: string;
}

export interface CrossCheckIssue {
  readonly path: (string | number)[];
  readonly message: string;
  /**
   * The other keys the rule compares `path` with. When the environment file sets one of these but
   * not `path` itself, the error names the key the user wrote (lib/config/load.ts).
   * @default none
   */
  readonly related?: (string | number)[][];
}

export class ConfigError extends Error {
  constructor(
    public readonly source: string,
    public readonly problems: readonly ConfigProblem[],
  ) {
    super(
      `Invalid configuration in ${source}:\n` +
        problems.map((p) => `  - ${p.key} = ${formatValue(p.value)}${p.origin ? ` (not set in this file: the default from ${p.origin}; set the key here to change it)` : ''}: ${p.message}`).join('\n') +
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
