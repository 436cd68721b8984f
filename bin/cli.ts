// Shared command-line plumbing: flag parsing on node's util.parseArgs, usage errors, exit codes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type ParseArgsConfig, parseArgs } from "node:util";
import type { NatsConnection } from "@nats-io/transport-node";
import { assertHuntId, connect, queryHunt } from "../streams/index.ts";

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

/** Reads the required --hunt flag and checks it is a valid hunt id. */
export function huntFlag(command: string, value: string | undefined): string {
  const huntId = requiredFlag(command, "hunt", value);
  try {
    assertHuntId(huntId);
  } catch (err) {
    throw new UsageError((err as Error).message, "use a hunt id such as spring-2025 or hunt_42");
  }
  return huntId;
}

/** Reads a required string flag. */
export function requiredFlag(command: string, name: string, value: string | undefined): string {
  if (value === undefined || value === "") {
    throw new UsageError(`--${name} is required`, `run \`cairn ${command} --help\` for an example`);
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
      `run \`cairn ${command} --help\` for the flags it takes`,
    );
  }
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "ms") as "ms" | "s" | "m" | "h"];
  return Math.round(Number(m[1]) * unit);
}

/** The NATS connection flags every command that talks to NATS shares. */
export const NATS_FLAGS = {
  nats: { type: "string" },
  creds: { type: "string" },
  nkey: { type: "string" },
  user: { type: "string" },
  password: { type: "string" },
  token: { type: "string" },
  "tls-ca": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
} as const;

/** Usage lines for NATS_FLAGS. */
export const NATS_FLAGS_USAGE = [
  "  --nats URL          NATS server(s), comma-separated (env NATS_URL)",
  "  --creds FILE        NATS credentials file (env NATS_CREDS)",
  "  --nkey FILE         file holding an nkey seed (env NATS_NKEY)",
  "  --user U --password P   user/password auth (env NATS_USER, NATS_PASSWORD)",
  "  --token T           token auth (env NATS_TOKEN)",
  "  --tls-ca/--tls-cert/--tls-key FILE   TLS files; any of them turns TLS on",
].join("\n");

/** Where `cairn serve` records the URL of the embedded server it started, for the other commands. */
export const SERVE_STATE_FILE = join(".cairn", "serve.json");

/** The URL of an embedded server started by a `cairn serve` that is still running here. */
function runningServeUrl(): string | undefined {
  try {
    const state = JSON.parse(readFileSync(SERVE_STATE_FILE, "utf8")) as { url?: string; pid?: number };
    if (typeof state.pid === "number") process.kill(state.pid, 0);
    return state.url;
  } catch {
    return undefined;
  }
}

/** Connection options from NATS_FLAGS values and the environment; `servers` unset when neither names one. */
export function natsOptionsFromFlags(values: Partial<Record<keyof typeof NATS_FLAGS, string | undefined>>) {
  const env = process.env;
  const servers = values.nats ?? env.NATS_URL;
  const tls =
    values["tls-ca"] || values["tls-cert"] || values["tls-key"]
      ? { caFile: values["tls-ca"], certFile: values["tls-cert"], keyFile: values["tls-key"] }
      : undefined;
  return {
    servers: servers ? servers.split(",") : undefined,
    credsFile: values.creds ?? env.NATS_CREDS,
    nkeySeedFile: values.nkey ?? env.NATS_NKEY,
    user: values.user ?? env.NATS_USER,
    pass: values.password ?? env.NATS_PASSWORD,
    token: values.token ?? env.NATS_TOKEN,
    tls,
  };
}

/**
 * Connects a client command: --nats, NATS_URL, the embedded server of a running `cairn serve` in this
 * directory, then nats://127.0.0.1:4222. A failure becomes a RuntimeError that says what to do.
 */
export async function connectCli(
  command: string,
  values: Partial<Record<keyof typeof NATS_FLAGS, string | undefined>>,
): Promise<NatsConnection> {
  const options = natsOptionsFromFlags(values);
  const servers = options.servers ?? runningServeUrl()?.split(",");
  try {
    return await connect({ ...options, servers, name: `cairn-${command}` });
  } catch (err) {
    throw new RuntimeError(
      "nats_unreachable",
      (err as Error).message,
      "start the engine with `cairn serve`, or pass --nats URL (or set NATS_URL) for the server it uses",
    );
  }
}

/** A query from a client command; an error reply or silence becomes a RuntimeError saying what to do. */
export async function queryCli<T>(
  nc: NatsConnection,
  huntId: string,
  op: string,
  body: Record<string, unknown> = {},
): Promise<T> {
  try {
    return await queryHunt<T>(nc, huntId, op, body);
  } catch (err) {
    throw new RuntimeError(
      (err as { code?: string }).code ?? "query_failed",
      (err as Error).message,
      "check the hunt id and that `cairn serve` runs against this NATS server",
    );
  }
}
