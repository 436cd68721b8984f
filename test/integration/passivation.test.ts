// Passivation against a real engine and nats-server: a hunt idle for --idle-after leaves memory
// (its boards give back what they held at once), and the next event or query brings it back from
// its snapshot and the log's tail with the same stateHash, ready to fold on.
import { describe, expect, it } from "vitest";
import { queryHunt } from "../../streams/index.ts";
import { playedHunt } from "../support/hunt-log.ts";
import { engineSuite, publishEvents, waitFor } from "../support/nats.ts";

const HUNT = "it-passivate";

describe("a passivated hunt", () => {
  const events = playedHunt(HUNT, 30, 600);
  const suite = engineSuite({ idleMs: 300, snapshotIntervalMs: 100 });

  const publish = (batch: Record<string, unknown>[]) => publishEvents(suite.client, HUNT, batch);
  const state = () =>
    queryHunt<{ seq: number; stateHash: string; players: number }>(suite.client.nc, HUNT, "state");

  it("gives back its boards' memory, and comes back with the same state to fold on", async () => {
    await publish(events.slice(0, 500));
    await waitFor(async () => (await state()).seq >= 500, {
      timeoutMs: 30_000,
      message: "the first 500 events handled",
    });
    const before = await state();
    const fold = suite.engine.host.fold(HUNT)!;
    expect(fold.index.size).toBeGreaterThan(0);

    await waitFor(() => suite.engine.host.fold(HUNT) === undefined, {
      timeoutMs: 30_000,
      message: "the hunt to be passivated",
    });
    expect(fold.index.size).toBe(0);
    expect(fold.index.stats().bytes).toBeLessThan(1024);
    // Operators see it counted.
    expect((await suite.engine.metrics.passivated.get()).values[0]?.value).toBe(1);

    // A query brings it back from the snapshot (no event since): the same state, to the hash.
    expect(await state()).toEqual(before);
    const back = suite.engine.host.fold(HUNT)!;
    expect(back).not.toBe(fold);

    // And it folds on where it was.
    await publish(events.slice(500));
    await waitFor(async () => (await state()).seq >= events.length, {
      timeoutMs: 30_000,
      message: "the rest handled",
    });
    const { entries } = await queryHunt<{ entries: unknown[] }>(suite.client.nc, HUNT, "top", { n: 100 });
    expect(entries.length).toBe((await state()).players);
  });
});
