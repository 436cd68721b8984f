// The hunt lifecycle's transition table, derived once from the XState machine, against the lifecycle
// the contract states: none → created → running ⇄ paused → ended → finalized.
import { describe, expect, it } from "vitest";
import { ACCEPTS, HUNT_STATUSES, type HuntStatus, NEXT } from "../../actors/index.ts";
import { HUNT_EVENT_TYPES } from "../../schemas/index.ts";

const MOVES: Record<string, HuntStatus> = {
  "none HuntCreated": "created",
  "created HuntStarted": "running",
  "running HuntPaused": "paused",
  "running HuntEnded": "ended",
  "paused HuntResumed": "running",
  "paused HuntEnded": "ended",
  "ended HuntFinalized": "finalized",
};

describe("the hunt lifecycle", () => {
  it("moves on exactly the contract's lifecycle events and stays put on every other type, accepted or not", () => {
    for (const status of HUNT_STATUSES) {
      for (const type of HUNT_EVENT_TYPES) {
        const move = MOVES[`${status} ${type}`];
        expect(NEXT[status][type], `${type} in ${status}`).toBe(move ?? status);
        if (move) expect(ACCEPTS[status][type], `${type} accepted in ${status}`).toBe(true);
      }
    }
  });

  it("steps a hunt through them one event at a time", () => {
    let status: HuntStatus = "none";
    const steps = [
      "HuntCreated",
      "HuntStarted",
      "HuntPaused",
      "HuntResumed",
      "HuntEnded",
      "HuntFinalized",
    ] as const;
    const seen = steps.map((type) => {
      expect(ACCEPTS[status][type], `${type} in ${status}`).toBe(true);
      status = NEXT[status][type];
      return status;
    });
    expect(seen).toEqual(["created", "running", "paused", "running", "ended", "finalized"]);
  });
});
