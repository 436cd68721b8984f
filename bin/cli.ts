// Shared command-line plumbing: flag parsing on node's util.parseArgs, usage errors, exit codes.
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

/** One `cairn` sub-command. */
export interface Command {
  /** One line shown in `cairn --help`. */
  summary: string;
  /** Full usage text shown by `cairn <command> --help`. */
  usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** Parses flags strictly; unknown flags and bad values become a UsageError naming the command. */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(
  command: string,
  argv: string[],
  options: T,
) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new UsageError((err as Error).message, `run \`cairn ${command} --help\` for the flags it takes`);
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
      `run \`cairn ${command} --help\` for the flags it takes`,
    );
  }
  return n;
}

/** Reads a required string flag. */
export function requiredFlag(command: string, name: string, value: string | undefined): string {
  if (value === undefined || value === "") {
    throw new UsageError(`--${name} is required`, `run \`cairn ${command} --help\` for an example`);
  }
  return value;
}
