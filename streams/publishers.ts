// Publishes the engine's outputs with core NATS (no per-message ack) and idempotent Nats-Msg-Ids.
import type { JetStreamManager } from "@nats-io/jetstream";
import { jetstreamManager } from "@nats-io/jetstream";
import { headers, type MsgHdrs, type NatsConnection, type PublishOptions } from "@nats-io/transport-node";
import type { RankChange, Rejection, TopN } from "../schemas/index.ts";
import { assertHuntId } from "./errors.ts";
import { RANKS_STREAM, REJECTED_STREAM } from "./setup.ts";

/** The Nats-Msg-Id header name. */
const MSG_ID = "Nats-Msg-Id";

/**
 * Publishes rank changes, rejections and top-N snapshots. Publishes are not awaited: call them in one
 * synchronous loop per batch so they leave in one socket write, then `flush()` when the server must have them.
 * One header object and one options object are reused, since nats.js encodes both synchronously.
 */
export class OutputPublisher {
  private readonly hdrs: MsgHdrs = headers();
  private readonly opts: PublishOptions = { headers: this.hdrs };

  constructor(private readonly nc: NatsConnection) {}

  /** Publishes a rank change to `hunt.<id>.ranks` with Nats-Msg-Id `<id>:<seq>:<n>`. */
  rank(huntId: string, seq: number, n: number, msg: RankChange): void {
    this.publishWithId(`hunt.${huntId}.ranks`, huntId, seq, n, msg);
  }

  /** Publishes a rejection to `hunt.<id>.rejected` with Nats-Msg-Id `<id>:<seq>:<n>`. */
  rejected(huntId: string, seq: number, n: number, msg: Rejection): void {
    this.publishWithId(`hunt.${huntId}.rejected`, huntId, seq, n, msg);
  }

  /** Like rank(), with a body already serialised to JSON bytes. */
  rankRaw(huntId: string, seq: number, n: number, body: Uint8Array): void {
    this.publishWithId(`hunt.${huntId}.ranks`, huntId, seq, n, body);
  }

  /** Like rejected(), with a body already serialised to JSON bytes. */
  rejectedRaw(huntId: string, seq: number, n: number, body: Uint8Array): void {
    this.publishWithId(`hunt.${huntId}.rejected`, huntId, seq, n, body);
  }

  /** Like top(), with a body already serialised to JSON bytes. */
  topRaw(huntId: string, body: Uint8Array): void {
    this.nc.publish(`hunt.${huntId}.top`, body);
  }

  /** Publishes the coalesced top-N to `hunt.<id>.top` (core NATS only, no id). */
  top(huntId: string, msg: TopN): void {
    this.nc.publish(`hunt.${huntId}.top`, JSON.stringify(msg));
  }

  /** Resolves once the server has received everything published so far (one round trip). */
  flush(): Promise<void> {
    return this.nc.flush();
  }

  private publishWithId(
    subject: string,
    huntId: string,
    seq: number,
    n: number,
    msg: object | Uint8Array,
  ): void {
    this.hdrs.set(MSG_ID, `${huntId}:${seq}:${n}`);
    this.opts.reply = undefined;
    this.nc.publish(subject, msg instanceof Uint8Array ? msg : JSON.stringify(msg), this.opts);
  }
}

/** Position of an output: the input sequence that caused it and its index among that input's outputs. */
export interface OutputPosition {
  /** Input stream sequence. */
  seq: number;
  /** Index among the outputs of that input. */
  n: number;
}

/** Parses `<huntId>:<seq>:<n>`; undefined when it is not one of ours. */
export function parseOutputId(id: string | undefined | null): OutputPosition | undefined {
  if (!id) return undefined;
  const m = /:(\d+):(\d+)$/.exec(id);
  return m ? { seq: Number(m[1]), n: Number(m[2]) } : undefined;
}

/**
 * The position of the last output stored for the hunt on `hunt.<id>.ranks` and `hunt.<id>.rejected`
 * (the later of the two), read from the Nats-Msg-Id of the last message of each; undefined when none.
 */
export async function lastOutput(
  conn: JetStreamManager | NatsConnection,
  huntId: string,
): Promise<OutputPosition | undefined> {
  assertHuntId(huntId);
  const jsm = "direct" in conn ? conn : await jetstreamManager(conn);
  const [ranks, rejected] = await Promise.all([
    jsm.direct.getMessage(RANKS_STREAM, { last_by_subj: `hunt.${huntId}.ranks` }),
    jsm.direct.getMessage(REJECTED_STREAM, { last_by_subj: `hunt.${huntId}.rejected` }),
  ]);
  let best: OutputPosition | undefined;
  for (const m of [ranks, rejected]) {
    const p = parseOutputId(m?.header?.get(MSG_ID));
    if (p && (!best || p.seq > best.seq || (p.seq === best.seq && p.n > best.n))) best = p;
  }
  return best;
}

/** The largest input sequence named by the last output stored for the hunt; 0 if none. */
export async function lastOutputSeq(
  conn: JetStreamManager | NatsConnection,
  huntId: string,
): Promise<number> {
  return (await lastOutput(conn, huntId))?.seq ?? 0;
}
