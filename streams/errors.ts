// Error classes for everything in streams/: each carries a stable `code` that callers and the CLI switch on.
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { isValidHuntId } from "../schemas/index.ts";

/** Base class of the errors thrown by streams/; `code` is stable, `hint` says what to do. */
export class StreamsError extends Error {
  constructor(
    /** Stable machine-readable code. */
    readonly code: string,
    message: string,
    /** One line telling the user what to do about it. */
    readonly hint: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * Whether `err` says JetStream does not serve through the server the client is connected to: not
 * enabled there, not ready yet (no responders: a server just restarted), or temporarily unavailable
 * (a 503 from the API: its cluster's meta group or a stream has no leader it can reach).
 */
export function isJetStreamUnavailable(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err.name === "JetStreamNotEnabled" ||
      (err instanceof JetStreamApiError &&
        (err.status === 503 || err.code === JetStreamApiCodes.JetStreamNotEnabledForAccount)))
  );
}

/** No nats-server binary was found (NATS_SERVER_BIN, PATH, /usr/sbin). */
export class NatsServerNotFoundError extends StreamsError {
  constructor(searched: string[]) {
    super(
      "nats_server_not_found",
      `nats-server was not found (looked at ${searched.join(", ")}); install it with \`sudo apt-get install nats-server\` (Debian/Ubuntu) or from https://github.com/nats-io/nats-server/releases, or set NATS_SERVER_BIN`,
      "install nats-server (Debian/Ubuntu: sudo apt-get install nats-server), or pass --nats URL to use a server you already run",
    );
  }
}

/** The embedded nats-server exited or did not become ready in time. */
export class NatsServerStartError extends StreamsError {
  constructor(message: string) {
    super(
      "nats_server_start_failed",
      message,
      "check the nats-server output above, the port and the store directory",
    );
  }
}

/** Could not connect to NATS. */
export class NatsConnectError extends StreamsError {
  constructor(servers: string, cause: string) {
    super(
      "nats_connect_failed",
      `cannot connect to NATS at ${servers}: ${cause}`,
      "start nats-server with JetStream (nats-server -js), or pass --nats URL / set NATS_URL to a reachable server",
    );
  }
}

/** The server is older than the oldest version Cairn supports. */
export class ServerVersionError extends StreamsError {
  constructor(version: string, minimum: string) {
    super(
      "nats_server_too_old",
      `nats-server ${version} is too old: Cairn needs ${minimum} or newer (the JetStream consumers API)`,
      "upgrade nats-server (https://github.com/nats-io/nats-server/releases)",
    );
  }
}

/** One field that differs between an existing stream and the configuration Cairn wants. */
export interface ConfigDifference {
  /** Stream name. */
  stream: string;
  /** Config field, e.g. "subjects". */
  field: string;
  /** What the server has. */
  existing: unknown;
  /** What Cairn wants. */
  wanted: unknown;
}

/** A stream exists with a configuration that conflicts with Cairn's; it is never overwritten. */
export class StreamConfigConflictError extends StreamsError {
  constructor(
    /** Every difference found. */
    readonly differences: ConfigDifference[],
  ) {
    super(
      "stream_config_conflict",
      `existing stream configuration conflicts with Cairn's: ${differences
        .map(
          (d) =>
            `${d.stream}.${d.field}: existing ${JSON.stringify(d.existing)} vs wanted ${JSON.stringify(d.wanted)}`,
        )
        .join("; ")}`,
      "fix or delete the stream by hand (nats stream edit/rm), or change Cairn's stream options to match",
    );
  }
}

/** An append's expected last sequence did not match the log (optimistic concurrency). */
export class ConcurrencyError extends StreamsError {
  constructor(
    /** Hunt id. */
    readonly huntId: string,
    /** The last sequence the caller expected. */
    readonly expectedLastSeq: number,
    /** The last sequence the server reported, when it said. */
    readonly actualLastSeq: number | undefined,
  ) {
    super(
      "concurrency_conflict",
      `hunt ${huntId}: expected the last event at sequence ${expectedLastSeq}, but it is at ${actualLastSeq ?? "an unknown sequence"}`,
      "re-read the hunt's log and retry with the new last sequence",
    );
  }
}

/**
 * A hunt's events are stored under more than one subject (before and after the server's partition mapping
 * was added or changed), so which of them make its log cannot be guessed.
 */
export class AmbiguousEventsSubjectError extends StreamsError {
  constructor(
    /** Hunt id. */
    readonly huntId: string,
    /** Each subject holding some of its events, with how many. */
    readonly subjects: Record<string, number>,
  ) {
    super(
      "ambiguous_events_subject",
      `hunt ${huntId}: its events are stored under several subjects (${Object.entries(subjects)
        .map(([subject, n]) => `${subject}: ${n}`)
        .join(", ")}), so the partition mapping changed while it ran`,
      "say which to read: the partition count the engine runs with (--partitions N), or 0 for hunt.<id>.events",
    );
  }
}

/** A hunt id is not 1-64 chars of [A-Za-z0-9_-]. */
export class InvalidHuntIdError extends StreamsError {
  constructor(huntId: unknown) {
    super(
      "invalid_hunt_id",
      `invalid hunt id ${JSON.stringify(huntId)}: it must be 1-64 characters of A-Z, a-z, 0-9, _ and -`,
      "use a hunt id such as spring-2025 or hunt_42",
    );
  }
}

/** Throws InvalidHuntIdError unless `huntId` is a hunt id by the contract's rule (schemas' isValidHuntId). */
export function assertHuntId(huntId: string): void {
  if (!isValidHuntId(huntId)) throw new InvalidHuntIdError(huntId);
}
