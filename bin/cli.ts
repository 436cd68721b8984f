// Shared command-line plumbing: the Command shape, NATS connection flags, connecting and querying with
// errors that say what to do, and the leaderboard table. Flag parsing and the error classes live in
// flags.ts (re-exported here).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { RankEntry, RankIndexKind } from "../native/index.ts";
import { assertHuntId, connect, EventLog, queryHunt, StreamsError } from "../streams/index.ts";
import { choiceFlag, intFlag, RuntimeError, requiredFlag, UsageError } from "./flags.ts";

export {
  choiceFlag,
  durationFlag,
  intFlag,
  numberFlag,
  parseFlags,
  RuntimeError,
  requiredFlag,
  UsageError,
} from "./flags.ts";

/** One `cairn` sub-command. */
export interface Command {
  /** One line shown in `cairn --help`. */
  summary: string;
  /** Full usage text shown by `cairn <command> --help`. */
  usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
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

/** The values parseFlags gives for NATS_FLAGS. */
export type NatsFlagValues = Partial<Record<keyof typeof NATS_FLAGS, string | undefined>>;

/** The flags of every command about one hunt: NATS_FLAGS, --hunt and --json. */
export const HUNT_FLAGS = {
  ...NATS_FLAGS,
  hunt: { type: "string" },
  json: { type: "boolean" },
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
export function natsOptionsFromFlags(values: NatsFlagValues) {
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
export async function connectCli(command: string, values: NatsFlagValues): Promise<NatsConnection> {
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

/**
 * Connects like connectCli, gives the connection to `use` and closes it however `use` ends. A failure to
 * close is ignored: it must not hide what `use` returned or threw.
 */
export async function withConnection<T>(
  command: string,
  values: NatsFlagValues,
  use: (nc: NatsConnection) => Promise<T>,
): Promise<T> {
  const nc = await connectCli(command, values);
  try {
    return await use(nc);
  } finally {
    await nc.close().catch(() => {});
  }
}

/** The flags of the commands that fold a hunt's log themselves (replay, audit). */
export const LOG_FOLD_FLAGS = {
  "until-seq": { type: "string" },
  top: { type: "string" },
  index: { type: "string" },
  partitions: { type: "string" },
} as const;

/** Reads LOG_FOLD_FLAGS: where the fold stops, the board rows to print, the index, the partitions. */
export function logFoldFlags(
  command: string,
  values: Partial<Record<keyof typeof LOG_FOLD_FLAGS, string | undefined>>,
): { untilSeq: number | undefined; topN: number; indexKind: RankIndexKind; partitions: number | undefined } {
  const until = values["until-seq"];
  return {
    untilSeq: until === undefined ? undefined : intFlag(command, "until-seq", until, 0, 1),
    topN: intFlag(command, "top", values.top, 10, 0, 1000),
    indexKind: choiceFlag("index", values.index, ["auto", "native", "js"], "auto"),
    partitions:
      values.partitions === undefined
        ? undefined
        : intFlag(command, "partitions", values.partitions, 0, 0, 1024),
  };
}

/** The error of a fold that found no events for the hunt, naming the subject it read. */
export async function noEventsError(
  nc: NatsConnection,
  jsm: JetStreamManager,
  huntId: string,
  untilSeq: number | undefined,
  partitions: number | undefined,
): Promise<RuntimeError> {
  const subject = await new EventLog(nc, jsm, partitions).storedSubject(huntId);
  return new RuntimeError(
    "unknown_hunt",
    `hunt "${huntId}" has no events on ${subject}${untilSeq ? ` up to seq ${untilSeq}` : ""}`,
    partitions === undefined
      ? "check the hunt id, and that --nats names the server it was published to"
      : "check the hunt id, or drop --partitions to let it find where its events are stored",
  );
}

/** Prints leaderboard rows as an aligned table. */
export function printEntries(entries: RankEntry[]): void {
  const width = Math.max(6, ...entries.map((e) => e.playerId.length));
  console.log(`${"rank".padStart(7)}  ${"player".padEnd(width)}  ${"score".padStart(10)}`);
  for (const e of entries)
    console.log(
      `${String(e.rank).padStart(7)}  ${e.playerId.padEnd(width)}  ${String(e.score).padStart(10)}`,
    );
}

/** Checks that `stream` exists on the server `nc` is connected to; a RuntimeError saying what to do if not. */
export async function requireStream(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
): Promise<void> {
  try {
    await jsm.streams.info(stream);
  } catch (err) {
    const failure = natsFailure(err);
    if (failure?.code !== "no_streams") throw failure ?? err;
    throw new RuntimeError(
      "no_streams",
      `stream ${stream} is not on the NATS server at ${nc.getServer()}: it has no Cairn streams`,
      failure.hint,
    );
  }
}

/** What to do about a failed query, by the QueryFailedError code. */
function queryHint(code: string | undefined, huntId: string): string {
  switch (code) {
    case "no_responders":
    case "timeout":
      return "start `cairn serve` against this NATS server, or pass --nats URL for the server it runs on";
    case "unknown_hunt":
      return `check the hunt id: no game server has published events for "${huntId}" on this NATS server`;
    case "unavailable":
      return "try again in a few seconds";
    default:
      return "check the hunt id and the request flags";
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
    const code = (err as { code?: string }).code;
    throw new RuntimeError(code ?? "query_failed", (err as Error).message, queryHint(code, huntId));
  }
}

/**
 * A failure any command may meet talking to NATS (streams/ errors, a missing stream, JetStream off, a
 * denied subject, silence), as a RuntimeError that says what to do; undefined for anything else.
 */
export function natsFailure(err: unknown): RuntimeError | undefined {
  if (err instanceof RuntimeError) return err;
  if (err instanceof StreamsError) return new RuntimeError(err.code, err.message, err.hint);
  if (!(err instanceof Error)) return undefined;
  if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) {
    return new RuntimeError(
      "no_streams",
      "this NATS server has no Cairn streams (JetStream answered: stream not found)",
      "start `cairn serve` against it once so it creates them, or pass --nats URL for the server Cairn uses",
    );
  }
  if (
    err.name === "JetStreamNotEnabled" ||
    (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.JetStreamNotEnabledForAccount)
  ) {
    return new RuntimeError(
      "jetstream_disabled",
      `JetStream is not enabled on this NATS server: ${err.message}`,
      "run nats-server with JetStream (nats-server -js, or jetstream {} in its config)",
    );
  }
  if (err.name === "PermissionViolationError") {
    return new RuntimeError(
      "permission_denied",
      err.message,
      "use credentials whose permissions allow this subject (deploy/nats/permissions.conf)",
    );
  }
  if (err.name === "TimeoutError") {
    return new RuntimeError(
      "nats_timeout",
      `NATS did not answer in time (${err.message})`,
      "check the server runs JetStream (nats-server -js) and is not overloaded, then try again",
    );
  }
  return undefined;
}
