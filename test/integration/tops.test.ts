// Tops are published in rounds spread over several event-loop turns, so that thousands of changed
// hunts do not hold the loop at once: every changed hunt's top must still arrive, with its last seq.
import { describe, expect, it } from "vitest";
import { cloudEvent, engineSuite, waitFor } from "../support/nats.ts";

/** More hunts than one turn of a round publishes. */
const HUNTS = 300;

describe("tops of many hunts", () => {
  const suite = engineSuite({ topIntervalMs: 20 });

  it("publishes every changed hunt's top, at its last seq", async () => {
    const { client } = suite;
    const latest = new Map<string, { seq: number; entries: { playerId: string }[] }>();
    const sub = client.nc.subscribe("hunt.*.top", {
      callback: (_err, m) => {
        latest.set(m.subject.split(".")[1]!, m.json());
      },
    });
    const lastSeq = new Map<string, number>();
    const acks: Promise<{ seq: number }>[] = [];
    const huntIds = Array.from({ length: HUNTS }, (_, h) => `tops-${h}`);
    for (const huntId of huntIds) {
      const events = [
        cloudEvent(`${huntId}-c`, "HuntCreated", { title: huntId, treasures: [{ id: "t1", points: 10 }] }),
        cloudEvent(`${huntId}-s`, "HuntStarted"),
        cloudEvent(`${huntId}-j`, "PlayerJoined", { playerId: `p-${huntId}` }),
      ];
      for (const e of events) {
        const ack = client.js.publish(`hunt.${huntId}.events`, JSON.stringify(e), { msgID: String(e.id) });
        acks.push(ack);
        void ack.then((a) => lastSeq.set(huntId, Math.max(lastSeq.get(huntId) ?? 0, a.seq)));
      }
    }
    await Promise.all(acks);
    await waitFor(() => huntIds.every((h) => latest.get(h)?.seq === lastSeq.get(h)), {
      timeoutMs: 30_000,
      message: "every hunt's top at its last seq",
    });
    sub.unsubscribe();
    for (const h of huntIds) expect(latest.get(h)!.entries.map((e) => e.playerId)).toEqual([`p-${h}`]);
  });
});

describe("a busy hunt's tops", () => {
  const INTERVAL_MS = 100;
  const suite = engineSuite({ topIntervalMs: INTERVAL_MS });

  it("go out every interval, not every other one", async () => {
    const { client } = suite;
    const hunt = "tops-busy";
    const publish = (e: Record<string, unknown>) =>
      client.js.publish(`hunt.${hunt}.events`, JSON.stringify(e), { msgID: String(e.id) });
    await publish(cloudEvent("c", "HuntCreated", { title: hunt, treasures: [{ id: "t1", points: 10 }] }));
    await publish(cloudEvent("s", "HuntStarted"));
    for (let p = 0; p < 20; p++) await publish(cloudEvent(`j${p}`, "PlayerJoined", { playerId: `p${p}` }));
    const arrivals: number[] = [];
    const sub = client.nc.subscribe(`hunt.${hunt}.top`, {
      callback: () => {
        arrivals.push(performance.now());
      },
    });
    // Every event moves the top, so each round has a change to publish.
    for (let k = 0; arrivals.length < 25; k++) {
      await publish(
        cloudEvent(`a${k}`, "ScoreAdjusted", { playerId: `p${k % 20}`, delta: 1 + (k % 7), reason: "r" }),
      );
    }
    sub.unsubscribe();
    const gaps = arrivals
      .slice(2)
      .map((t, i) => t - arrivals[i + 1]!)
      .sort((a, b) => a - b);
    // The median gap is one interval; a hunt kept back every other round would show two.
    expect(gaps[gaps.length >> 1]).toBeLessThan(1.5 * INTERVAL_MS);
  });
});
