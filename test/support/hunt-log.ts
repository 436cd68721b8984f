// Builds hunt logs for tests: events as FoldInput messages, a sink that collects outputs, and a
// given/when/then harness over the fold.
import { type Checkpoint, type FoldInput, HuntFold, type OutputSink } from "../../actors/index.ts";
import { xorshift } from "../../bench/xorshift.ts";
import { createRankIndex, type RankIndexKind } from "../../native/index.ts";
import { defaultTime, type ModelOutput } from "./hunt-model.ts";

const encoder = new TextEncoder();
let nextId = 0;

/** A CloudEvent of the given type; the id is unique unless given. */
export function ev(type: string, data?: Record<string, unknown>, id?: string) {
  const event: Record<string, unknown> = {
    specversion: "1.0",
    id: id ?? `e-${++nextId}`,
    source: "test",
    type,
  };
  if (data !== undefined) event.data = data;
  return event;
}

/**
 * Log messages at seq 1.. for the given events (objects are JSON-encoded, strings sent as is), each
 * published with a Nats-Msg-Id as the contract requires: the event's id, or `m-<seq>` for raw bodies.
 */
export function log(events: (Record<string, unknown> | string | Uint8Array)[], firstSeq = 1): FoldInput[] {
  return events.map((e, i) => {
    const seq = firstSeq + i;
    const id = typeof e === "object" && !(e instanceof Uint8Array) ? e.id : undefined;
    return {
      seq,
      time: defaultTime(seq),
      msgId: typeof id === "string" ? id : `m-${seq}`,
      data: e instanceof Uint8Array ? e : encoder.encode(typeof e === "string" ? e : JSON.stringify(e)),
    };
  });
}

/** Collects outputs as plain objects, in order; checkpoints apart (the reference model has none). */
export class CollectingSink implements OutputSink {
  readonly outputs: (ModelOutput & { message?: string })[] = [];
  readonly checkpoints: (Checkpoint & { n: number })[] = [];
  // Properties typed by OutputSink rather than methods, so the parameters take their types from there.
  readonly rank: OutputSink["rank"] = (seq, playerId, score, rank, previousRank, players) => {
    this.outputs.push({ kind: "rank", seq, playerId, score, rank, previousRank, players });
  };
  readonly teamRank: OutputSink["teamRank"] = (seq, teamId, score, rank, previousRank, teams) => {
    this.outputs.push({ kind: "teamRank", seq, teamId, score, rank, previousRank, teams });
  };
  readonly rejected: OutputSink["rejected"] = (seq, eventId, type, code, message) => {
    this.outputs.push({ kind: "rejected", seq, eventId, type, code, message });
  };
  readonly checkpoint: OutputSink["checkpoint"] = (seq, events, stateHash, prev, chain, n) => {
    this.checkpoints.push({ seq, events, stateHash, prev, chain, n });
  };
}

/** Folds `given`, then `when`, and returns only the outputs of `when`. */
export function given(events: (Record<string, unknown> | string)[], kind: RankIndexKind = "js") {
  const fold = new HuntFold("h-test", createRankIndex(kind));
  fold.applyBatch(log(events), new CollectingSink());
  return {
    fold,
    when(...next: (Record<string, unknown> | string)[]) {
      const sink = new CollectingSink();
      fold.applyBatch(log(next, fold.seq + 1), sink);
      return sink.outputs;
    },
  };
}

/** A created and started hunt: t-1 (10 points), t-2 (25 points, answer "golden key"), and the given rules. */
export function runningHunt(rules: Record<string, unknown> = {}, extra: Record<string, unknown>[] = []) {
  return [
    ev("HuntCreated", {
      title: "Test hunt",
      treasures: [
        { id: "t-1", points: 10 },
        {
          id: "t-2",
          points: 25,
          answerSha256: "2fb592b2d8b0007bec0455b12f34e96273a7feda565ccf32ece004dcf61180f2",
        },
      ],
      rules,
    }),
    ev("HuntStarted"),
    ...extra,
  ];
}

/**
 * A played hunt for the ledger and audit tests: created and started, `players` joins, then `plays`
 * finds, hints and adjustments (with `by` and reasons) drawn from a seeded generator, a pause and a
 * resume, a disqualification and a leave among them, and the end. Event ids start with `prefix`, so
 * hunts of one server never share one.
 */
export function playedHunt(
  prefix: string,
  players: number,
  plays: number,
  seed = 7,
): Record<string, unknown>[] {
  const next = xorshift(seed);
  const events = [
    ev(
      "HuntCreated",
      {
        title: "played",
        treasures: Array.from({ length: 20 }, (_, t) => ({ id: `t${t}`, points: 5 + t })),
        rules: { firstFinderBonus: [5, 3], hintPenalty: 1 },
      },
      `${prefix}-created`,
    ),
    ev("HuntStarted", undefined, `${prefix}-started`),
  ];
  for (let p = 0; p < players; p++)
    events.push(ev("PlayerJoined", { playerId: `p${p}` }, `${prefix}-join-${p}`));
  for (let k = 0; k < plays; k++) {
    const id = `${prefix}-${k}`;
    const playerId = `p${next() % players}`;
    const treasureId = `t${next() % 20}`;
    const r = next() % 100;
    if (k === Math.floor(plays / 2)) events.push(ev("HuntPaused", undefined, `${id}-pause`));
    if (k === Math.floor(plays / 2) + 3) events.push(ev("HuntResumed", undefined, `${id}-resume`));
    if (k === Math.floor((plays * 2) / 3)) {
      events.push(
        ev("PlayerDisqualified", { playerId: "p1", reason: "shared answers", by: "judge" }, `${id}-dq`),
      );
    }
    if (k === Math.floor((plays * 3) / 4)) events.push(ev("PlayerLeft", { playerId: "p2" }, `${id}-left`));
    if (r < 60) events.push(ev("TreasureFound", { playerId, treasureId }, id));
    else if (r < 75) events.push(ev("HintTaken", { playerId, treasureId }, id));
    else
      events.push(
        ev("ScoreAdjusted", { playerId, delta: (r % 7) - 3, reason: `round ${k}`, by: "marshal" }, id),
      );
  }
  events.push(ev("HuntEnded", { reason: "done" }, `${prefix}-ended`));
  return events;
}
