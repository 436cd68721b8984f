// The load generator gives every play event an id of its own, across batches and runs: JetStream drops
// a publish whose Nats-Msg-Id it saw within its duplicate window, so a repeated id is an event lost.
import type { NatsConnection } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { FINDS_AND_ADJUSTMENTS, GameSimulator } from "../../bin/game-simulator.ts";

const ids = (bodies: Iterable<string>) =>
  [...bodies].map((b) => /"id":"([^"]+)"/.exec(b)?.[1] ?? `unparsed: ${b.slice(0, 40)}`);

describe("GameSimulator", () => {
  it("never gives two play events the same id, batch after batch", () => {
    const gen = new GameSimulator(undefined as unknown as NatsConnection, {
      huntId: "h-ids",
      players: 50,
      activePlayers: 50,
      treasures: 10,
      rate: 1000,
      durationSec: 1,
      ...FINDS_AND_ADJUSTMENTS,
    });
    const first = ids(gen.offlinePlays(500));
    const second = ids(gen.offlinePlays(500));
    expect(new Set([...first, ...second]).size).toBe(1000);
    expect(second[0]).toBe("h-ids-500");
  });
});
