// Flag parsing and the two error classes of every `cairn` command and benchmark; depends on node alone,
// so that bench/ can use it without loading the CLI's NATS plumbing.
import { type ParseArgsConfig, parseArgs } from "node:util";

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {
  readonly code = "usage";
  constructor(
    message: string,
    /** One line telling the user what to do instead. */
    readonly hint: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/** A failure while running: exit code 1. */
export class RuntimeError extends Error {
  constructor(
    /** Stable error code. */
    readonly code: string,
    message: string,
    /** One line telling the user what to do. */
    readonly hint: string,
  ) {
    super(message);
    this.name = "RuntimeError";
  }
}

/** The hint of a usage error about a command's flags. */
function flagsHint(command: string): string {
  return `run \`cairn ${command} --help\` for the flags it takes`;
}

/**
 * Parses flags strictly; unknown flags and bad values become a UsageError naming the command
 * (`serve`, or `bench e2e` for a benchmark). Arguments that are not flags are refused unless
 * `allowPositionals` (a command that names a file, like `cairn verify FILE`).
 */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (err) {
    throw new UsageError((err as Error).message, flagsHint(command));
  }
}

/** Reads an integer flag, with bounds, or the default. */
export function intFlag(
  command: string,
  name: string,
  value: string | undefined,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(
      `--${name} must be a whole number from ${min} to ${max}, got "${value}"`,
      flagsHint(command),
    );
  }
  return n;
}

/** Reads a number flag (fractions and `_` separators allowed, as in 0.5 or 200_000) of at least `min`, or the default. */
export function numberFlag(
  command: string,
  name: string,
  value: string | undefined,
  fallback: number,
  min = 0,
): number {
  if (value === undefined) return fallback;
  const n = Number(value.replace(/_/g, ""));
  if (value.trim() === "" || !Number.isFinite(n) || n < min) {
    throw new UsageError(`--${name} must be a number of at least ${min}, got "${value}"`, flagsHint(command));
  }
  return n;
}

/** Reads a flag that takes one of `choices`, or the default. */
export function choiceFlag<C extends string>(
  name: string,
  value: string | undefined,
  choices: readonly C[],
  fallback: C,
): C {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(
      `--${name} must be ${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}, got "${value}"`,
      `omit --${name} to use ${fallback}`,
    );
  }
  return value as C;
}

/** Reads a required string flag. */
export function requiredFlag(command: string, name: string, value: string | undefined): string {
  if (value === undefined || value === "") {
    throw new UsageError(`--${name} is required`, `run \`cairn ${command} --help\` for an example`);
  }
  return value;
}

/** Reads an optional flag that names a directory: absent is undefined, given empty is a usage error. */
export function dirFlag(command: string, name: string, value: string | undefined): string | undefined {
  if (value === "") {
    throw new UsageError(
      `--${name} needs a directory, got ""`,
      `omit --${name}, or run \`cairn ${command} --help\``,
    );
  }
  return value;
}

/** Reads a duration flag: a number of milliseconds, or a number with ms, s, m or h. */
export function durationFlag(
  command: string,
  name: string,
  value: string | undefined,
  fallbackMs: number,
): number {
  if (value === undefined) return fallbackMs;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) {
    throw new UsageError(
      `--${name} must be a duration like 500ms, 30s, 5m or 24h, got "${value}"`,
      flagsHint(command),
    );
  }
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "ms") as "ms" | "s" | "m" | "h"];
  return Math.round(Number(m[1]) * unit);
}
