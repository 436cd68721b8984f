// A hunt log folded by the first version of the engine, kept with what that engine produced: its
// outputs, its stateHash and a snapshot. Every later version must fold it to the same results and
// load the snapshot, so that a hunt recorded before an upgrade replays, and audits, the same after.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeHunt, HuntFold, stateHash } from "../../actors/index.ts";
import { createRankIndex } from "../../native/index.ts";
import { CollectingSink } from "../support/hunt-log.ts";

interface Fixture {
  huntId: string;
  events: { seq: number; time: number; msgId: string; data: string }[];
  stateHash: string;
  outputsSha256: string;
  outputs: number;
  status: string;
  players: number;
  snapshotAtSeq: number;
  snapshotBase64: string;
  snapshotStateHash: string;
}

const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/v1-hunt.json", import.meta.url), "utf8"),
) as Fixture;
const encoder = new TextEncoder();
const inputs = fixture.events.map((e) => ({ ...e, data: encoder.encode(e.data) }));

describe("a version-1 hunt", () => {
  for (const kind of ["native", "js"] as const) {
    it(`folds to the same outputs and stateHash (${kind} index)`, () => {
      const fold = new HuntFold(fixture.huntId, createRankIndex(kind));
      const sink = new CollectingSink();
      fold.applyBatch(inputs, sink);
      expect(sink.outputs.length).toBe(fixture.outputs);
      expect(createHash("sha256").update(JSON.stringify(sink.outputs)).digest("hex")).toBe(
        fixture.outputsSha256,
      );
      expect({ status: fold.status, players: fold.joined }).toEqual({
        status: fixture.status,
        players: fixture.players,
      });
      expect(stateHash(fold)).toBe(fixture.stateHash);
    });
  }

  it("loads its snapshot, and the tail then gives the same stateHash", () => {
    const fold = decodeHunt(fixture.huntId, Buffer.from(fixture.snapshotBase64, "base64"));
    expect(fold.seq).toBe(fixture.snapshotAtSeq);
    expect(stateHash(fold)).toBe(fixture.snapshotStateHash);
    fold.applyBatch(
      inputs.filter((m) => m.seq > fixture.snapshotAtSeq),
      new CollectingSink(),
    );
    expect(stateHash(fold)).toBe(fixture.stateHash);
  });
});
