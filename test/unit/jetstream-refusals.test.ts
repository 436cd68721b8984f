// A client stuck on a server whose JetStream keeps refusing (a cluster node just restarted) moves to
// another server once the refusals have lasted a while, and only if the cluster named others.
import type { NatsConnection } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { laneRetryDelayMs } from "../../actors/host/lanes.ts";
import { noteJetStreamFailure } from "../../streams/index.ts";

/** Enough of a connection for the check: its cluster's other servers, and a count of reconnects. */
function fakeConnection(connectUrls: string[]) {
  const nc = {
    reconnects: 0,
    info: { connect_urls: connectUrls },
    isClosed: () => false,
    reconnect: async () => {},
  };
  nc.reconnect = async () => {
    nc.reconnects++;
  };
  return nc;
}

function refused(): Error {
  const err = new Error("jetstream is not enabled");
  err.name = "JetStreamNotEnabled";
  return err;
}

describe("noteJetStreamFailure", () => {
  it("moves after 5 s of refusals, then not again for 5 s", () => {
    const nc = fakeConnection(["a:4222", "b:4222", "c:4222"]);
    const note = (t: number) =>
      noteJetStreamFailure(nc as unknown as NatsConnection, refused(), undefined, t);
    expect([0, 1000, 2000, 3000, 4000].map(note)).toEqual([false, false, false, false, false]);
    expect(note(5000)).toBe(true);
    expect([6000, 7000, 8000, 9000].map(note)).toEqual([false, false, false, false]);
    expect(note(10_000)).toBe(true);
    expect(nc.reconnects).toBe(2);
  });

  it("starts counting again after a quiet spell, and ignores other errors", () => {
    const nc = fakeConnection(["a:4222", "b:4222"]);
    const note = (t: number, err: unknown = refused()) =>
      noteJetStreamFailure(nc as unknown as NatsConnection, err, undefined, t);
    note(0);
    note(4000);
    expect(note(11_000)).toBe(false); // 7 s after the last refusal: a new outage
    expect(note(15_000)).toBe(false);
    expect(note(16_000, new Error("timeout"))).toBe(false);
    expect(note(16_500)).toBe(true);
    expect(nc.reconnects).toBe(1);
  });

  it("stays when the server named no other server to go to", () => {
    const nc = fakeConnection([]);
    const note = (t: number) =>
      noteJetStreamFailure(nc as unknown as NatsConnection, refused(), undefined, t);
    for (let t = 0; t <= 20_000; t += 1000) expect(note(t)).toBe(false);
    expect(nc.reconnects).toBe(0);
  });
});

describe("laneRetryDelayMs", () => {
  const attempts = [0, 1, 2, 3, 4, 5, 10, 60, 5000];
  it("retries a lane that could not start soon, and never waits more than 2 s between attempts", () => {
    expect(attempts.map((a) => laneRetryDelayMs(a, () => 0))).toEqual([
      250, 500, 1000, 2000, 2000, 2000, 2000, 2000, 2000,
    ]);
  });
  it("takes a random part, up to half, off each wait, so lanes that failed together come back apart", () => {
    expect(attempts.map((a) => laneRetryDelayMs(a, () => 0.5))).toEqual([
      188, 375, 750, 1500, 1500, 1500, 1500, 1500, 1500,
    ]);
    // Math.random is below 1: the shortest wait is just over half.
    expect(attempts.map((a) => laneRetryDelayMs(a, () => 0.999_999))).toEqual([
      125, 250, 500, 1000, 1000, 1000, 1000, 1000, 1000,
    ]);
    const waits = new Set(Array.from({ length: 50 }, () => laneRetryDelayMs(3)));
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...waits)).toBeLessThanOrEqual(2000);
    expect(waits.size).toBeGreaterThan(1);
  });
});
