// The standings freeze as a specification (schemas/CONTRACT.md, "Standings freeze"): what the fold
// accepts, what the public queries and the public top show while frozen, and that snapshots keep it.

import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  answer,
  CorruptSnapshotError,
  decodeHunt,
  encodeHunt,
  type HuntFold,
  stateHash,
} from "../../actors/index.ts";
import { CollectingSink, ev, given, log, runningHunt } from "../support/hunt-log.ts";

const join = (playerId: string) => ev("PlayerJoined", { playerId });
const adjust = (playerId: string, delta: number) => ev("ScoreAdjusted", { playerId, delta, reason: "test" });
const freeze = () => ev("StandingsFrozen", { by: "org" });
const reveal = () => ev("StandingsRevealed");

function codes(outputs: { kind: string; code?: string }[]) {
  return outputs.map((o) => (o.kind === "rejected" ? o.code : o.kind));
}

/** Every public answer the contract names, for comparing two folds or two moments. */
function publicView(fold: HuntFold) {
  const ids = ["a", "b", "c", "d", "nobody"];
  return {
    top: answer(fold, "top", { n: 100 }, "public"),
    ranks: ids.map((playerId) => answer(fold, "rank", { playerId }, "public")),
    around: answer(fold, "around", { playerId: "b", before: 1, after: 1 }, "public"),
    state: answer(fold, "state", {}, "public"),
  };
}

describe("StandingsFrozen and StandingsRevealed", () => {
  it("freeze while running or paused, once; reveal only what is frozen, even after the end", () => {
    expect(codes(given([]).when(freeze(), reveal()))).toEqual(["invalid_state", "invalid_state"]);
    const created = given([ev("HuntCreated", { title: "x", treasures: [{ id: "t", points: 1 }] })]);
    expect(codes(created.when(freeze(), reveal()))).toEqual(["invalid_state", "invalid_state"]);
    const h = given(runningHunt());
    expect(codes(h.when(reveal(), freeze(), freeze()))).toEqual(["invalid_state", "invalid_state"]);
    expect(h.fold.frozen?.seq).toBe(4);
    h.when(ev("HuntPaused"), ev("HuntEnded"));
    expect(codes(h.when(freeze(), reveal(), reveal()))).toEqual(["invalid_state", "invalid_state"]);
    expect(h.fold.frozen).toBeNull();
    const paused = given(runningHunt({}, [ev("HuntPaused")]));
    expect(codes(paused.when(freeze()))).toEqual([]);
    const finalized = given(runningHunt({}, [freeze(), ev("HuntEnded"), ev("HuntFinalized")]));
    expect(codes(finalized.when(reveal()))).toEqual(["finalized"]);
  });

  it("keeps scoring and publishing every rank change while the public standings stay as they were", () => {
    const h = given(
      runningHunt({}, [join("a"), join("b"), join("c"), adjust("a", 5), ev("PlayerLeft", { playerId: "c" })]),
    );
    const before = publicView(h.fold);
    expect(h.when(freeze())).toEqual([]);
    const out = h.when(adjust("b", 9), join("d"), ev("PlayerLeft", { playerId: "a" }), adjust("d", 1));
    expect(codes(out)).toEqual(["rank", "rank", "rank", "rank"]);
    // The live board moved; the public one is the board at the freeze, with the freeze in `state`.
    expect(h.fold.index.top(10).map((e) => e.playerId)).toEqual(["b", "d"]);
    const frozen = publicView(h.fold);
    const seq = h.fold.seq;
    expect(frozen.top).toEqual({ ...(before.top as object), seq });
    expect(frozen.top).toEqual({
      seq,
      entries: [
        { rank: 1, playerId: "a", score: 5 },
        { rank: 2, playerId: "b", score: 0 },
      ],
    });
    // a and b as at the freeze; c had left with 0; d joined after it; nobody never joined.
    expect(frozen.ranks).toEqual([
      { seq, rank: 1, score: 5 },
      { seq, rank: 2, score: 0 },
      { seq, rank: 0, score: 0 },
      { seq, rank: 0, score: 0 },
      { seq, rank: 0, score: 0 },
    ]);
    expect(frozen.around).toEqual({ seq, entries: (before.top as { entries: unknown[] }).entries });
    expect(frozen.state).toEqual({
      seq,
      status: "running",
      players: 2,
      teams: 0,
      frozenAt: 8,
      runningMs: h.fold.runningMs,
    });
    // The organisers' queries answer the live standings.
    expect(answer(h.fold, "rank", { playerId: "b" })).toEqual({ seq, rank: 1, score: 9 });
    expect(answer(h.fold, "top", { n: 1 })).toMatchObject({ entries: [{ playerId: "b" }] });
    expect(answer(h.fold, "state", {})).toMatchObject({ players: 2, frozenAt: 8 });
    h.when(reveal());
    expect(answer(h.fold, "top", { n: 10 }, "public")).toEqual(answer(h.fold, "top", { n: 10 }));
    expect(answer(h.fold, "state", {}, "public")).toEqual({
      seq: seq + 1,
      status: "running",
      players: 2,
      teams: 0,
      frozenAt: null,
      runningMs: h.fold.runningMs,
    });
  });

  it("keeps the score a player had when they left before the freeze", () => {
    const h = given(
      runningHunt({}, [join("a"), adjust("a", 4), ev("PlayerLeft", { playerId: "a" }), freeze()]),
    );
    expect(answer(h.fold, "rank", { playerId: "a" }, "public")).toMatchObject({ rank: 0, score: 4 });
  });

  it("gives back the memory of the live and the frozen boards when the fold is disposed of", () => {
    const h = given(runningHunt({}, [join("a"), join("b"), adjust("a", 5), freeze(), adjust("b", 9)]));
    const frozen = h.fold.frozen!.players;
    expect([h.fold.index.size, frozen.size]).toEqual([2, 2]);
    h.fold.dispose();
    expect([h.fold.index.size, frozen.size, h.fold.index.slotOf("a"), frozen.slotOf("a")]).toEqual([
      0, 0, -1, -1,
    ]);
  });

  it("pages the frozen board with the cursors of live pages", () => {
    const h = given(runningHunt({}, [join("a"), join("b"), join("c"), freeze(), adjust("c", 9)]));
    const first = answer(h.fold, "top", { n: 2 }, "public") as { next: string };
    expect(answer(h.fold, "top", { n: 2, after: first.next }, "public")).toMatchObject({
      entries: [{ rank: 3, playerId: "c", score: 0 }],
    });
  });

  it("freezes the board as it is at its own input, inside a batch", () => {
    for (const kind of ["native", "js"] as const) {
      const h = given(runningHunt({}, [join("a"), join("b")]), kind);
      const out = h.when(adjust("b", 3), freeze(), adjust("a", 7), adjust("b", 1));
      expect(codes(out)).toEqual(["rank", "rank", "rank"]);
      expect(answer(h.fold, "top", { n: 5 }, "public")).toMatchObject({
        entries: [
          { playerId: "b", score: 3 },
          { playerId: "a", score: 0 },
        ],
      });
      expect(h.fold.index.top(5).map((e) => [e.playerId, e.score])).toEqual([
        ["a", 7],
        ["b", 4],
      ]);
    }
  });

  it("moves the public top only before the freeze and at the reveal", () => {
    const h = given(runningHunt({}, [join("a"), join("b")]));
    const v0 = h.fold.topVersion;
    h.when(adjust("b", 3), freeze());
    const v1 = h.fold.topVersion;
    expect(v1).toBeGreaterThan(v0);
    h.when(adjust("a", 7), join("c"), ev("PlayerLeft", { playerId: "b" }));
    expect(h.fold.topVersion).toBe(v1);
    h.when(reveal());
    expect(h.fold.topVersion).toBeGreaterThan(v1);
  });
});

/** Where a snapshot's hashed bytes start: after the audit header, at the hunt's magic ("CRNH"). */
function hashedStart(snapshot: Buffer): number {
  return snapshot.indexOf(Buffer.from("CRNH", "latin1"));
}

describe("snapshots of frozen hunts", () => {
  it("keep the frozen standings, so a restored hunt answers the public and judges the tail the same", () => {
    const events = runningHunt({}, [
      join("a"),
      join("b"),
      adjust("b", 2),
      join("c"),
      freeze(),
      adjust("a", 5),
      ev("PlayerLeft", { playerId: "b" }),
      join("d"),
      freeze(),
      reveal(),
      adjust("d", 1),
      freeze(),
      adjust("c", 8),
    ]);
    const msgs = log(events);
    const full = given(events);
    const fullSink = new CollectingSink();
    given([]).fold.applyBatch(msgs, fullSink);
    for (let cut = 1; cut < events.length; cut++) {
      const head = given(events.slice(0, cut));
      for (const kind of ["native", "js"] as const) {
        const restored = decodeHunt("h-test", encodeHunt(head.fold), { indexKind: kind });
        expect(stateHash(restored)).toBe(stateHash(head.fold));
        expect(publicView(restored)).toEqual(publicView(head.fold));
        const sink = new CollectingSink();
        restored.applyBatch(msgs.slice(cut), sink);
        expect(stateHash(restored)).toBe(stateHash(full.fold));
        expect(publicView(restored)).toEqual(publicView(full.fold));
        expect(sink.outputs).toEqual(fullSink.outputs.filter((o) => o.seq > cut));
      }
    }
  });

  it("write a hunt with no rule of version 2 that froze and revealed as before: its bytes do not change", () => {
    const plain = given(runningHunt({}, [join("a"), adjust("a", 1)]));
    const revealed = given(runningHunt({}, [join("a"), freeze(), reveal(), adjust("a", 1)]));
    const bytes = (f: HuntFold) => {
      const b = Buffer.from(encodeHunt(f));
      return b.readUInt32LE(hashedStart(b) + 4);
    };
    expect(bytes(plain.fold)).toBe(1);
    expect(bytes(revealed.fold)).toBe(1);
    const frozen = given(runningHunt({}, [join("a"), freeze()]));
    expect(bytes(frozen.fold)).toBe(3);
  });

  it("refuse a section this engine does not know, as a corrupt snapshot", () => {
    const h = given(runningHunt({}, [join("a"), freeze()]));
    const bytes = Buffer.from(encodeHunt(h.fold));
    // The sections end with tag 0 right before the rank index (u32 length, its bytes) and the CRC-32.
    const end = bytes.length - 4 - 4 - h.fold.index.serialize().length - 1;
    expect(bytes[end]).toBe(0);
    bytes[end] = 9;
    bytes.writeUInt32LE(crc32(bytes.subarray(hashedStart(bytes), bytes.length - 4)), bytes.length - 4);
    expect(() => decodeHunt("h-test", bytes)).toThrow(CorruptSnapshotError);
    expect(() => decodeHunt("h-test", bytes)).toThrow(/unknown section 9/);
  });

  it("costs one copy of the board at the freeze: 200,000 players (the figure is printed)", () => {
    const fold = given(runningHunt(), "native").fold;
    const n = 200_000;
    // Straight into the board (as a snapshot's load does): the freeze, not 200,000 joins, is measured.
    for (let i = 0; i < n; i++) {
      const id = `player-${i}`;
      fold.addPlayer(id);
      fold.index.upsert(id, (i * 7919) % 1000, i + 10);
      fold.joined++;
    }
    const started = performance.now();
    fold.applyBatch(log([freeze()], fold.seq + 1), new CollectingSink());
    const ms = performance.now() - started;
    console.log(`the freeze of ${n.toLocaleString("en-US")} players took ${ms.toFixed(1)} ms (native index)`);
    expect(fold.frozen?.players.size).toBe(n);
    for (const offset of [0, 1234, n - 1]) {
      expect(fold.frozen?.players.top(1, offset)).toEqual(fold.index.top(1, offset));
    }
  });
});
