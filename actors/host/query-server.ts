// Serves `hunt.<id>.query.<op>` (organisers, game servers) and `hunt.<id>.public.<op>` (read-only
// viewers): decodes each request with the schemas, answers from the hunt's one live copy (activating
// it if needed), and says plainly when it cannot. Replies go only to inbox subjects, so a request can
// never aim the engine's own permissions at another subject.
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { RankIndexKind } from "../../native/index.ts";
import { decodeQuery, QUERY_OPS, type QueryRequestMap } from "../../schemas/index.ts";
import { isValidHuntId } from "../../streams/index.ts";
import {
  answer,
  type CheckpointSigner,
  type LiveQueryOp,
  publicStateReply,
  type QueryReply,
  queryError,
  stateReply,
} from "../hunt/index.ts";
import type { Lanes } from "./lanes.ts";
import { LedgerReplays } from "./ledger-replays.ts";
import type { EngineMetrics } from "./metrics.ts";
import { HuntBrokenError, type HuntRegistry, type LiveHunt } from "./registry.ts";

const encoder = new TextEncoder();

/**
 * Reply subjects the engine answers: client inboxes (`_INBOX.…`, or a role's own prefix such as
 * `_INBOX_VIEW.…`) and the server's rewritten replies of cross-account requests (`_R_.…`). Anything
 * else, such as `$JS.API.STREAM.PURGE.HUNT_EVENTS` or `hunt.x.ranks`, would make the engine publish
 * there with its own rights.
 */
export function isReplySubjectAllowed(reply: string, ownInboxes: readonly string[] = []): boolean {
  if (!(reply.startsWith("_INBOX") || reply.startsWith("_R_.")) || /[\s*>]/.test(reply)) return false;
  // The engine's own inboxes (where JetStream confirms its outputs) are no place for an answer.
  return !ownInboxes.some((inbox) => reply.startsWith(`${inbox}.`));
}

/** The ops of `hunt.<id>.public.<op>`, for its error message. */
const PUBLIC_OPS = QUERY_OPS.filter((op) => op !== "ledger").join(", ");

/** How long a query waits for its hunt's activation before answering `unavailable`. */
const ACTIVATION_WAIT_MS = 5_000;

/**
 * `state` hashes the whole hunt, which costs time proportional to its size (about 125 ms at 500,000
 * players). Across all hunts, a hash is computed only when at least this many times the last
 * computation's cost has passed since it, so that however often and for however many hunts it is
 * asked, hashing takes at most 1/STATE_COST_RATIO of the engine's time. Meanwhile a hunt's last reply
 * is served as it was (its seq says which input it describes); a hunt with none yet gets one.
 */
const STATE_COST_RATIO = 20;

interface CachedState {
  seq: number;
  reply: QueryReply;
}

/** What the query server reads from the rest of the host. */
export interface QueryServerDeps {
  registry: HuntRegistry;
  lanes: Lanes;
  /** For a partitioned engine: whether this engine answers for the hunt now (undefined: always). */
  answers?: (huntId: string) => "owner" | "taking-over" | "other";
  /** Inbox prefixes of the engine's own (JetStream's confirmations); never a reply subject. */
  ownInboxes: readonly string[];
  /** The rank index of the folds that ledger queries run. */
  indexKind: RankIndexKind;
  /** The longest a ledger page replays before it replies. */
  ledgerPageMs: number;
  logger: Logger;
  metrics: EngineMetrics | undefined;
  /** Signs the last checkpoint in `state` replies, as the published ones are. */
  signer?: CheckpointSigner | undefined;
}

export class QueryServer {
  private subs: Subscription[] = [];
  private readonly stateCache = new WeakMap<LiveHunt, CachedState>();
  /** When the next state hash may be computed (monotonic ms). */
  private nextHashAt = 0;
  private refusedLoggedAt = Number.NEGATIVE_INFINITY;
  /** The ledger replays of `ledger` queries. */
  readonly ledgers: LedgerReplays;

  constructor(
    private readonly nc: NatsConnection,
    private readonly deps: QueryServerDeps,
  ) {
    this.ledgers = new LedgerReplays(deps.lanes.log, {
      indexKind: deps.indexKind,
      pageBudgetMs: deps.ledgerPageMs,
      metrics: deps.metrics,
    });
  }

  start(): void {
    for (const subject of ["hunt.*.query.*", "hunt.*.public.*"]) {
      this.subs.push(
        this.nc.subscribe(subject, {
          callback: (err, msg) => {
            if (err) return;
            this.onQuery(msg).catch((e: Error) =>
              this.deps.logger.warn(
                { subject: msg.subject, err: e.message },
                "a query could not be answered",
              ),
            );
          },
        }),
      );
    }
  }

  stop(): void {
    for (const sub of this.subs) sub.unsubscribe();
    this.subs = [];
    this.ledgers.stop();
  }

  private async onQuery(msg: Msg): Promise<void> {
    const reply = msg.reply;
    if (!reply) return;
    if (!isReplySubjectAllowed(reply, this.deps.ownInboxes)) {
      this.deps.metrics?.queriesRefused.inc();
      const now = performance.now();
      if (now - this.refusedLoggedAt > 60_000) {
        this.refusedLoggedAt = now;
        this.deps.logger.warn(
          { subject: msg.subject, reply },
          "a query asked for its reply on a subject that is not an inbox; not answered (counted in cairn_queries_refused_total, logged once a minute)",
        );
      }
      return;
    }
    const [, huntId = "", kind, op = ""] = msg.subject.split(".");
    const isPublic = kind === "public";
    // A reply to a connection that is closing is lost, as the requester's timeout will say.
    const send = (body: QueryReply) => {
      if (!this.nc.isClosed()) msg.respond(encoder.encode(JSON.stringify(body)));
    };
    if (!isValidHuntId(huntId)) {
      send(queryError("invalid_request", `hunt id "${huntId}" is not 1-64 characters of [A-Za-z0-9_-]`));
      return;
    }
    const who = this.deps.answers?.(huntId) ?? "owner";
    if (who === "other") return; // the engine that owns the hunt answers
    // The ledger is for organisers and auditors: viewers' subjects do not serve it.
    const decoded =
      isPublic && op === "ledger"
        ? ({
            ok: false,
            code: "invalid_request",
            message: `unknown public query "ledger"; expected one of ${PUBLIC_OPS}`,
          } as const)
        : decodeQuery(op, msg.data);
    if (!decoded.ok) {
      send(queryError(decoded.code, decoded.message));
      return;
    }
    const found = await this.hunt(huntId, who);
    if (!isLive(found)) {
      send(found);
      return;
    }
    found.lastActiveAt = Date.now();
    try {
      const standings = isPublic ? "public" : "live";
      if (op === "ledger")
        send(await this.ledgers.page(found.fold, decoded.request as QueryRequestMap["ledger"]));
      else if (op !== "state")
        send(answer(found.fold, op as LiveQueryOp, decoded.request as never, standings));
      else send(isPublic ? publicStateReply(found.fold) : this.state(found));
    } catch (err) {
      send(queryError("internal_error", `the engine could not answer: ${(err as Error).message}`));
    }
  }

  /** The hunt's live copy, or the error reply that says why there is none. */
  private async hunt(huntId: string, who: "owner" | "taking-over"): Promise<LiveHunt | QueryReply> {
    const { registry, lanes } = this.deps;
    const live = registry.get(huntId);
    if (live) return live;
    const broken = registry.broken.get(huntId);
    if (broken) return unavailableBroken(huntId, broken.seq, broken.reason);
    let activation = registry.activation(huntId);
    if (!activation) {
      const lane = lanes.laneOf(huntId);
      if (!lane) {
        return queryError(
          "unavailable",
          who === "taking-over" || lanes.keyOf(huntId) >= 0
            ? `hunt "${huntId}" is moving between engines; try again in a few seconds`
            : `hunt "${huntId}" is not being consumed right now (the engine is starting or restarting its consumer); try again in a few seconds`,
        );
      }
      if ((await lanes.log.lastSeq(huntId)) === 0) {
        return queryError("unknown_hunt", `no events have been published for hunt "${huntId}"`);
      }
      // The lane may have been handed over meanwhile: a hunt is activated only where it is consumed.
      if (lanes.laneOf(huntId) !== lane) {
        return queryError(
          "unavailable",
          `hunt "${huntId}" is moving between engines; try again in a few seconds`,
        );
      }
      activation = registry.activate(huntId, lanes.log, lane.position, () => lanes.laneOf(huntId) === lane);
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        activation,
        new Promise<QueryReply>((resolve) => {
          timer = setTimeout(
            () =>
              resolve(queryError("unavailable", `hunt "${huntId}" is loading; try again in a few seconds`)),
            ACTIVATION_WAIT_MS,
          );
        }),
      ]);
    } catch (err) {
      if (err instanceof HuntBrokenError) return unavailableBroken(huntId, err.broken.seq, err.broken.reason);
      return queryError(
        "unavailable",
        `hunt "${huntId}" could not be loaded (${(err as Error).message}); try again`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** The `state` reply at a bounded cost (see STATE_COST_RATIO). */
  private state(hunt: LiveHunt): QueryReply {
    const now = performance.now();
    const cached = this.stateCache.get(hunt);
    if (cached && (cached.seq === hunt.fold.seq || now < this.nextHashAt)) return cached.reply;
    const reply = stateReply(hunt.fold, this.deps.signer);
    const done = performance.now();
    this.nextHashAt = done + (done - now) * STATE_COST_RATIO;
    this.stateCache.set(hunt, { seq: hunt.fold.seq, reply });
    return reply;
  }
}

function isLive(found: LiveHunt | QueryReply): found is LiveHunt {
  return !("error" in found);
}

function unavailableBroken(huntId: string, seq: number, reason: string): QueryReply {
  return queryError(
    "unavailable",
    `hunt "${huntId}" stopped at input ${seq} because the engine failed on it (${reason}); its events are kept in the log, and it is rebuilt when the engine restarts`,
  );
}
