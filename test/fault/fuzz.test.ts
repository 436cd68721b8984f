// Fuzzing the whole path: adversarial events (lone surrogates, controls, noncharacters, ids at and over
// their limits, numbers at the edges of the safe range, deep nesting, huge answers, duplicate and
// prototype keys) go through NATS into a real engine process, interleaved with a healthy hunt. Every
// fuzzed input gets exactly one verdict, the healthy hunt's outputs are the reference model's, the
// engine keeps answering, and a replay of the fuzzed hunt's log reaches the live stateHash. The
// inputs that once broke the engine (corpus/) are replayed every run.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replayHunt, stateHash } from "../../actors/index.ts";
import { type EngineProcess, startEngineProcess } from "../../bin/engine-process.ts";
import type { RankChange, Rejection } from "../../schemas/index.ts";
import { queryHunt } from "../../streams/index.ts";
import { logArb } from "../support/hunt-arbitraries.ts";
import { HuntModel, type ModelInput } from "../support/hunt-model.ts";
import {
  alive,
  connectTest,
  startTestNats,
  type TestClient,
  type TestNats,
  waitFor,
} from "../support/nats.ts";
import { readSubject } from "../support/outputs.ts";

const CORPUS_DIR = join(fileURLToPath(new URL(".", import.meta.url)), "corpus");
const enc = new TextEncoder();

/** Strings that have broken or could break decoding, validation, interning, hashing or snapshots. */
const NASTY = [
  "\ud83d",
  "\udc00",
  "a\ud83db",
  "\u0000",
  "a\u0000b",
  "\u0001",
  "\u001b[31m",
  "\u007f",
  "\u0080",
  "\u009f",
  "\u2028",
  "\uffff",
  "\ufffe",
  "\ufeff",
  "",
  " ",
  "x".repeat(128),
  "x".repeat(129),
  "x".repeat(10_000),
  "😀".repeat(128),
  "😀".repeat(129),
  "__proto__",
  "constructor",
  "prototype",
  "hasOwnProperty",
  "toString",
];
/** Players and treasures the fuzzed hunt knows, so that fuzzed events also get applied. */
const PLAYERS = ["a", "b", "__proto__", "constructor", "😀".repeat(128), "x".repeat(128)];
const TREASURES = ["t1", "__proto__", "constructor"];
/** Number tokens as raw JSON text: JSON.stringify cannot write -0, 1e400 or 2^53 + 1 exactly. */
const NUMBERS = [
  "0",
  "-0",
  "1",
  "-1",
  "0.5",
  "-1.5",
  "1e-400",
  "9007199254740991",
  "-9007199254740991",
  "9007199254740992",
  "-9007199254740992",
  "9007199254740993",
  "1e308",
  "-1e308",
  "1e309",
  "100000000000000000000000000000000",
];
const TYPES = [
  "PlayerJoined",
  "PlayerJoined",
  "PlayerJoined",
  "PlayerLeft",
  "TreasureFound",
  "HintTaken",
  "ScoreAdjusted",
  "HuntPaused",
  "HuntResumed",
  "HuntCreated",
];

/** A JSON string literal: lone surrogates come out as `\udXXX` escapes, as any JSON producer writes them. */
const str = (s: string) => JSON.stringify(s);
const nested = (depth: number, open: string, close: string, inner: string) =>
  open.repeat(depth) + inner + close.repeat(depth);

const text = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 3, arbitrary: fc.constantFrom(...PLAYERS, ...TREASURES) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
);
// Joins intern the player id in the rank index: the path where a bad id once stalled every hunt.
const playerText = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(...PLAYERS) },
  { weight: 2, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
);
const treasureText = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...TREASURES) },
  { weight: 1, arbitrary: text },
);

/** Extra raw `"key":value` members that a data object may carry. */
const extraMember = fc.constantFrom(
  `"__proto__":{"playerId":"\\ud83d","delta":1}`,
  `"constructor":{"prototype":{"polluted":true}}`,
  `"deep":${nested(10_000, "[", "]", "0")}`,
  `"deeper":${nested(10_000, '{"a":', "}", "null")}`,
  `"playerId":"\\ud83d"`,
  `"playerId":"b"`,
  `"delta":9007199254740992`,
  `"answer":${str("y".repeat(60_000))}`,
  `"answer":${str("y".repeat(1025))}`,
  `"nul":"\\u0000"`,
);

/** The raw text of a data object for `type`: the right fields with adversarial values, plus extras. */
const dataText = (type: string) =>
  fc
    .record({
      playerId: playerText,
      treasureId: treasureText,
      delta: fc.constantFrom(...NUMBERS),
      answer: fc.option(fc.constantFrom("ans", "nope", "x".repeat(1024), "😀".repeat(600)), {
        nil: undefined,
      }),
      extras: fc.array(extraMember, { maxLength: 2 }),
      drop: fc.boolean(),
    })
    .map(({ playerId, treasureId, delta, answer, extras, drop }) => {
      const members: string[] = [];
      if (type !== "HuntPaused" && type !== "HuntResumed" && type !== "HuntCreated") {
        if (!drop || type !== "PlayerJoined") members.push(`"playerId":${str(playerId)}`);
      }
      if (type === "TreasureFound" || type === "HintTaken") members.push(`"treasureId":${str(treasureId)}`);
      if (type === "TreasureFound" && answer !== undefined) members.push(`"answer":${str(answer)}`);
      if (type === "ScoreAdjusted") members.push(`"delta":${delta}`, `"reason":"fuzz"`);
      if (type === "HuntCreated")
        members.push(`"title":${str(playerId)}`, `"treasures":[{"id":${str(treasureId)},"points":${delta}}]`);
      // Extras go after the real fields, so a duplicate key overrides them (JSON.parse keeps the last).
      return `{${[...members, ...extras].join(",")}}`;
    });

/** One fuzzed message body: a near-valid CloudEvent with adversarial parts, or raw damage. */
const fuzzedBody: fc.Arbitrary<Uint8Array> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record({
        type: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...TYPES) }, { weight: 1, arbitrary: text }),
        id: fc.oneof({ weight: 3, arbitrary: fc.constant("ev") }, { weight: 2, arbitrary: text }),
        specversion: fc.constantFrom('"1.0"', '"1.0"', '"1.0"', '"\\u0000"', "1", "null"),
        dupType: fc.option(fc.constantFrom(...TYPES), { nil: undefined }),
        protoTop: fc.boolean(),
      })
      .chain((e) =>
        dataText(e.type).map((data) => {
          const members = [
            `"specversion":${e.specversion}`,
            `"id":${str(e.id)}`,
            `"source":"fuzz"`,
            `"type":${str(e.type)}`,
            `"data":${data}`,
          ];
          if (e.dupType) members.push(`"type":${str(e.dupType)}`);
          if (e.protoTop) members.push(`"__proto__":{"type":"HuntEnded"}`);
          return enc.encode(`{${members.join(",")}}`);
        }),
      ),
  },
  {
    // Bytes that are not UTF-8 at all: a lone surrogate written raw (CESU-8), 0xFF, an overlong NUL.
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom([0xed, 0xa0, 0xbd], [0xff], [0xc0, 0x80], [0x00]), fc.constantFrom(...TYPES))
      .map(([bad, type]) => {
        const head = enc.encode(
          `{"specversion":"1.0","id":"raw","source":"fuzz","type":"${type}","data":{"playerId":"`,
        );
        return new Uint8Array([...head, ...bad, ...enc.encode(`"}}`)]);
      }),
  },
);

/** A fuzzed hunt's log: a valid start and joins, then fuzzed bodies with a few valid events among them. */
const fuzzedLogArb = fc
  .array(
    fc.oneof(
      { weight: 5, arbitrary: fuzzedBody },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.constantFrom(...PLAYERS), fc.integer({ min: -5, max: 5 }))
          .map(([playerId, delta]) =>
            enc.encode(
              JSON.stringify({
                specversion: "1.0",
                id: "v",
                source: "fuzz",
                type: "ScoreAdjusted",
                data: { playerId, delta, reason: "valid" },
              }),
            ),
          ),
      },
    ),
    { minLength: 60, maxLength: 120 },
  )
  .map((bodies) => bodies.map(printable));

/** A body that fast-check prints as (the start of) its text, so a counterexample stays readable. */
function printable(body: Uint8Array): Uint8Array {
  const text = Buffer.from(body).toString("utf8");
  const preview = text.length > 160 ? `${text.slice(0, 160)}… (${body.length} bytes)` : text;
  return Object.assign(body, { [fc.toStringMethod]: () => JSON.stringify(preview) });
}

function fuzzedHuntStart(): Uint8Array[] {
  const event = (type: string, data?: unknown) =>
    enc.encode(JSON.stringify({ specversion: "1.0", id: `start-${type}`, source: "fuzz", type, data }));
  return [
    event("HuntCreated", {
      title: "fuzz",
      treasures: TREASURES.map((id, i) => ({ id, points: i + 1 })),
      rules: { firstFinderBonus: [5], hintPenalty: 1 },
    }),
    event("HuntStarted"),
    ...PLAYERS.map((playerId) => event("PlayerJoined", { playerId })),
  ];
}

/** The healthy hunt's message for a model input (the invalid kind is garbage, as the property tests use). */
function healthyBody(input: ModelInput): Uint8Array {
  if (input.kind === "invalid") return enc.encode("\u0000garbage{");
  return enc.encode(JSON.stringify({ specversion: "1.0", source: "healthy", ...input.event }));
}

describe("fuzzing the whole path", () => {
  let nats: TestNats;
  let client: TestClient;
  let engine: EngineProcess;
  let published = 0;

  beforeAll(async () => {
    nats = await startTestNats();
    engine = await startEngineProcess(nats.url, ["--batch", "50"]);
    client = await connectTest(nats.url);
  });

  afterAll(async () => {
    await engine?.kill();
    await client?.nc.close();
    await nats?.cleanup();
  });

  /** Publishes one body with a Nats-Msg-Id of its own (fuzzed ids repeat; dedup must not hide any). */
  async function publish(huntId: string, body: Uint8Array, withMsgId = true): Promise<number> {
    const ack = await client.js.publish(
      `hunt.${huntId}.events`,
      body,
      withMsgId ? { msgID: `fuzz-${++published}` } : undefined,
    );
    expect(ack.duplicate).toBe(false);
    return ack.seq;
  }

  /**
   * Publishes the fuzzed log into `fuzzed` and the healthy log into `healthy`, interleaved, then checks
   * every verdict. `noHeader` are fuzzed-hunt bodies published without Nats-Msg-Id (to be rejected).
   */
  async function runHunts(
    run: string,
    fuzzedLog: Uint8Array[],
    healthyLog: ModelInput[],
    noHeader: Uint8Array[] = [],
  ): Promise<{ fuzzedSeqs: number[]; rejected: Map<number, Rejection> }> {
    const fuzzed = `fuzz-${run}`;
    const healthy = `healthy-${run}`;
    const model = new HuntModel();
    const fuzzedSeqs: number[] = [];
    const fuzzedInputs = [...fuzzHuntInputs(fuzzedLog)];
    const steps = Math.max(fuzzedInputs.length + noHeader.length, healthyLog.length);
    let lastHealthy = 0;
    for (let i = 0; i < steps; i++) {
      const h = healthyLog[i];
      if (h) {
        lastHealthy = await publish(healthy, healthyBody(h));
        model.apply(lastHealthy, h);
      }
      const f = fuzzedInputs[i];
      if (f) fuzzedSeqs.push(await publish(fuzzed, f));
      else if (i - fuzzedInputs.length < noHeader.length)
        fuzzedSeqs.push(await publish(fuzzed, noHeader[i - fuzzedInputs.length]!, false));
    }
    // The engine answers for both hunts, and has folded everything published.
    const lastFuzzed = fuzzedSeqs[fuzzedSeqs.length - 1]!;
    const live = await waitFor(
      async () => {
        const s = await queryHunt<{ seq: number; stateHash: string }>(client.nc, fuzzed, "state");
        return s.seq >= lastFuzzed ? s : undefined;
      },
      { timeoutMs: 30_000, message: `the engine to fold hunt ${fuzzed} up to seq ${lastFuzzed}` },
    );
    if (!live) throw new Error("unreachable: waitFor returns a truthy value");
    expect(live.seq).toBe(lastFuzzed);
    if (healthyLog.length > 0) {
      await waitFor(
        async () => (await queryHunt<{ seq: number }>(client.nc, healthy, "state")).seq >= lastHealthy,
        { timeoutMs: 30_000, message: `the engine to fold hunt ${healthy}` },
      );
    }
    expect(alive(engine.child.pid!)).toBe(true);

    // The fuzzed hunt: every input has exactly one verdict. Rejections are read from what the live
    // engine stored; applied inputs are counted by an independent replay of the same log.
    const replay = await replayHunt(client.nc, fuzzed, { untilSeq: lastFuzzed });
    const stored = await storedOutputs(fuzzed, replay.ranks, replay.rejections);
    const rejected = new Map<number, Rejection>();
    const fuzzedSet = new Set(fuzzedSeqs);
    for (const { body } of stored.rejected) {
      expect(fuzzedSet.has(body.seq), `rejection of seq ${body.seq}, not a fuzzed input`).toBe(true);
      expect(rejected.has(body.seq), `two rejections of seq ${body.seq}`).toBe(false);
      expect(typeof body.message).toBe("string");
      expect(body.message.length, `empty message for seq ${body.seq}`).toBeGreaterThan(0);
      rejected.set(body.seq, body);
    }
    for (const { body } of stored.ranks) {
      expect(rejected.has(body.seq), `seq ${body.seq} both rejected and ranked`).toBe(false);
      expect(fuzzedSet.has(body.seq)).toBe(true);
    }
    expect(replay.events).toBe(fuzzedSeqs.length);
    expect(rejected.size + replay.fold.appliedCount).toBe(fuzzedSeqs.length);
    expect(rejected.size).toBe(replay.rejections);
    expect(stored.ranks.length).toBe(replay.ranks);
    expect(stateHash(replay.fold)).toBe(live.stateHash);
    // The healthy hunt: exactly the model's outputs, whatever its neighbour went through.
    const expectedRanks = model.outputs.filter((o) => o.kind === "rank").map(({ kind, ...o }) => o);
    const expectedRejected = model.outputs.filter((o) => o.kind === "rejected").map(({ kind, ...o }) => o);
    const healthyOut = await storedOutputs(healthy, expectedRanks.length, expectedRejected.length);
    expect(healthyOut.ranks.map((r) => r.body)).toEqual(expectedRanks);
    expect(healthyOut.rejected.map(({ body: { message, ...r } }) => r)).toEqual(expectedRejected);
    return { fuzzedSeqs, rejected };
  }

  /** The stored outputs of a hunt, once at least the expected numbers of each are stored. */
  async function storedOutputs(huntId: string, rankCount: number, rejectionCount: number) {
    const stored = await waitFor(
      async () => {
        const ranks = await readSubject<RankChange>(
          client.js,
          client.jsm,
          "HUNT_RANKS",
          `hunt.${huntId}.ranks`,
        );
        const rejected = await readSubject<Rejection>(
          client.js,
          client.jsm,
          "HUNT_REJECTED",
          `hunt.${huntId}.rejected`,
        );
        return ranks.length >= rankCount && rejected.length >= rejectionCount
          ? { ranks, rejected }
          : undefined;
      },
      { timeoutMs: 20_000, message: `the outputs of ${huntId} to be stored` },
    );
    return stored!;
  }

  it("gives every fuzzed input one verdict and leaves the healthy hunt exact", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fuzzedLogArb, logArb, async (fuzzedLog, healthyLog) => {
        await runHunts(`r${++run}`, fuzzedLog, healthyLog);
      }),
      // Each run is a real round trip through NATS and the engine: few runs, no shrinking (the
      // failing seed and counterexample are printed; save the culprit in corpus/).
      { numRuns: 5, endOnFailure: true },
    );
  });

  it("replays the corpus of inputs that once broke the engine, each to one verdict", async () => {
    const files = readdirSync(CORPUS_DIR).filter((f) => f.endsWith(".json"));
    expect(files).toContain("lone-surrogate-player-joined.json");
    const bodies = files.map((f) => new Uint8Array(readFileSync(join(CORPUS_DIR, f))));
    const healthyLog = fc.sample(logArb, { seed: 11, numRuns: 1 })[0]!;
    const { fuzzedSeqs, rejected } = await runHunts("corpus", bodies, healthyLog);
    const start = fuzzHuntInputs([]).length;
    const surrogate = fuzzedSeqs[start + files.indexOf("lone-surrogate-player-joined.json")]!;
    expect(rejected.get(surrogate)).toMatchObject({
      code: "invalid_event",
      eventId: "x",
      type: "PlayerJoined",
    });
  });

  it("rejects an event published without Nats-Msg-Id, so a retried ScoreAdjusted is never applied twice", async () => {
    const adjust = enc.encode(
      JSON.stringify({
        specversion: "1.0",
        id: "bonus-1",
        source: "game",
        type: "ScoreAdjusted",
        data: { playerId: "a", delta: 100, reason: "bonus" },
      }),
    );
    // The first send and its retry, both without the header: JetStream stores both.
    const { fuzzedSeqs, rejected } = await runHunts("noheader", [], [], [adjust, adjust]);
    const [first, retry] = fuzzedSeqs.slice(-2) as [number, number];
    for (const seq of [first, retry]) {
      expect(rejected.get(seq)?.code).toBe("invalid_event");
      expect(rejected.get(seq)?.message).toContain("Nats-Msg-Id");
    }
    const rank = await queryHunt<{ score: number }>(client.nc, "fuzz-noheader", "rank", { playerId: "a" });
    expect(rank.score).toBe(0);
  });
});

/** The fuzzed hunt's whole input: its valid start, then the given bodies. */
function fuzzHuntInputs(bodies: Uint8Array[]): Uint8Array[] {
  return [...fuzzedHuntStart(), ...bodies];
}
