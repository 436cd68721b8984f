// Liveness of partition leases and engine heartbeats, as one engine observes them: a key lives while
// its revision rises. Reads can come from a replica that lags behind (a node catching up after a
// restart answers direct gets too), so an older revision read after a newer one is no sign of life.
import { describe, expect, it } from "vitest";
import { RevisionWatch } from "../../actors/host/ownership.ts";

describe("RevisionWatch", () => {
  it("counts how long the highest revision seen has stood, from this process's clock", () => {
    const watch = new RevisionWatch();
    expect(watch.observe("engine.a", 5, 1_000)).toBe(0);
    expect(watch.observe("engine.a", 5, 1_400)).toBe(400);
    expect(watch.observe("engine.a", 9, 1_700)).toBe(0);
    expect(watch.observe("engine.a", 9, 2_900)).toBe(1_200);
  });

  it("takes an older revision, read from a lagging replica, for no change", () => {
    const watch = new RevisionWatch();
    watch.observe("engine.dead", 12, 0);
    expect(watch.observe("engine.dead", 7, 2_000)).toBe(2_000);
    expect(watch.observe("engine.dead", 12, 3_000)).toBe(3_000);
  });

  it("starts over for a key it was told to forget", () => {
    const watch = new RevisionWatch();
    watch.observe("p.3", 40, 0);
    watch.forget("p.3");
    expect(watch.observe("p.3", 2, 5_000)).toBe(0);
  });
});
