import { beforeAll, describe, expect, it } from "vitest";
import {
  decodeLedgerCursor,
  type Engine,
  type EngineConfig,
  encodeLedgerCursor,
} from "../../actors/index.ts";
import { type LedgerEntry, type LedgerReply, outputValidators } from "../../schemas/index.ts";
import { type QueryFailedError, queryHunt } from "../../streams/index.ts";
import { playedHunt } from "../support/hunt-log.ts";
import { engineSuite, publishEvents, storedLedger, type TestClient, waitFor } from "../support/nats.ts";

const HUNT = "it-ledger";

/** A played hunt on a fresh nats-server and engine, every event handled; all stopped after the suite. */
function playedOnEngine(
  hunt: string,
  events: Record<string, unknown>[],
  options: Partial<EngineConfig> = {},
) {
  return engineSuite(options, async ({ client }) => {
    await publishEvents(client, hunt, events);
    await waitFor(
      async () => (await queryHunt<{ seq: number }>(client.nc, hunt, "state")).seq >= events.length,
      { timeoutMs: 30_000, message: "the engine to handle every event" },
    );
  });
}

describe("the ledger query", () => {
  const events = playedHunt("it-ledger", 40, 3000);
  // Time enough for any page: these tests are about what the pages hold, not about the page time.
  const setup = playedOnEngine(HUNT, events, { ledgerPageMs: 60_000 });
  let client: TestClient;
  let engine: Engine;
  beforeAll(() => {
    ({ client, engine } = setup);
  });

  /** The module's whole ledger of a player, folded from the log as stored. */
  const fullLedger = (playerId: string) => storedLedger(client, HUNT, { playerId });

  const ledger = (body: Record<string, unknown>) =>
    queryHunt<LedgerReply>(client.nc, HUNT, "ledger", body, 30_000);

  async function replays(): Promise<Record<string, number>> {
    const metric = await engine.metrics.ledgerReplays.get();
    return Object.fromEntries(metric.values.map((v) => [String(v.labels.from), v.value]));
  }

  it("pages through a player's ledger: the pages make up the module's list, and only the first folds from seq 1", async () => {
    for (const playerId of ["p3", "p1", "p2"]) {
      const want = await fullLedger(playerId);
      expect(want.length).toBeGreaterThan(20);
      const before = await replays();
      const got: LedgerEntry[] = [];
      let after: string | undefined;
      let pages = 0;
      for (;;) {
        const reply = await ledger({ playerId, limit: 7, ...(after ? { after } : {}) });
        expect(outputValidators.ledgerReply(reply)).toBe(true);
        expect(reply.seq).toBe(events.length);
        expect(reply.entries.length).toBeLessThanOrEqual(7);
        got.push(...reply.entries);
        pages++;
        if (!reply.next) break;
        expect(reply.entries).toHaveLength(7);
        after = reply.next;
      }
      expect(got).toEqual(want);
      expect(pages).toBe(Math.ceil(want.length / 7));
      const now = await replays();
      expect((now.start ?? 0) - (before.start ?? 0)).toBe(1);
      expect((now.resumed ?? 0) - (before.resumed ?? 0)).toBe(pages - 1);
    }
  });

  it("shows a disqualification and a leave with delta 0 and rank 0", async () => {
    const dq = (await ledger({ playerId: "p1", limit: 1000 })).entries.filter(
      (e) => e.type === "PlayerDisqualified",
    );
    expect(dq).toMatchObject([{ delta: 0, rank: 0, reason: "shared answers", by: "judge" }]);
    const left = (await ledger({ playerId: "p2", limit: 1000 })).entries.at(-1);
    expect(left).toMatchObject({ type: "PlayerLeft", delta: 0, rank: 0 });
  });

  it("answers a retried page from the paused replay, and a page at the end empty without next", async () => {
    const first = await ledger({ playerId: "p5", limit: 1000 });
    expect(first.next).toBeUndefined();
    const before = await replays();
    expect(await ledger({ playerId: "p5", limit: 1000 })).toEqual(first);
    const last = first.entries.at(-1)!;
    const tail = await ledger({ playerId: "p5", limit: 1, after: encodeLedgerCursor(last.seq) });
    expect(tail).toEqual({ seq: events.length, entries: [] });
    const now = await replays();
    expect(now.start).toBe(before.start);
  });

  it("refuses what is not a ledger request, and answers what it can without folding", async () => {
    const error = (body: Record<string, unknown>) =>
      ledger(body).then(
        () => "answered",
        (err: QueryFailedError) => `${err.code}: ${err.message}`,
      );
    expect(await error({ playerId: "p3", limit: 1001 })).toBe(
      "invalid_request: limit: must be an integer from 1 to 1000",
    );
    expect(await error({ playerId: "p3", teamId: "red" })).toBe(
      "invalid_request: must have exactly one of playerId and teamId",
    );
    expect(await error({})).toBe("invalid_request: must have exactly one of playerId and teamId");
    expect(await error({ playerId: "p3", after: "nonsense" })).toBe(
      "invalid_request: after: is not a cursor from a ledger reply",
    );
    expect(await error({ teamId: "red" })).toMatch(/^unknown_team: /);
    const before = await replays();
    expect(await ledger({ playerId: "nobody" })).toEqual({ seq: events.length, entries: [] });
    expect(await replays()).toEqual(before);
    const viewer = await client.nc.request(`hunt.${HUNT}.public.ledger`, JSON.stringify({ playerId: "p3" }));
    expect(viewer.json()).toMatchObject({ error: { code: "invalid_request" } });
  });
});

describe("a ledger page out of time", () => {
  const hunt = "it-ledger-budget";
  // No time at all: every page replies after its first slice of the log.
  const setup = playedOnEngine(hunt, playedHunt(hunt, 20, 2000), { ledgerPageMs: 0 });

  /** Pages through a player's ledger, at most `maxPages` pages; the entries and each page's size. */
  async function* pager(playerId: string, maxPages = 100) {
    let after: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const reply = await queryHunt<LedgerReply>(
        setup.client.nc,
        hunt,
        "ledger",
        { playerId, limit: 1000, ...(after ? { after } : {}) },
        30_000,
      );
      expect(outputValidators.ledgerReply(reply)).toBe(true);
      yield reply;
      if (!reply.next) return;
      after = reply.next;
    }
    throw new Error(`${playerId}'s ledger did not end in ${maxPages} pages`);
  }

  it("replies with what it found and a cursor that goes on, and the pages still make up the ledger", async () => {
    const want = await storedLedger(setup.client, hunt, { playerId: "p1" });
    expect(want.length).toBeGreaterThan(10);
    const got: LedgerEntry[] = [];
    const sizes: number[] = [];
    for await (const reply of pager("p1")) {
      got.push(...reply.entries);
      sizes.push(reply.entries.length);
    }
    expect(got).toEqual(want);
    // A page of 1,000 would hold the whole ledger; out of time, each holds a slice's worth.
    expect(sizes.length).toBeGreaterThan(2);
    expect(Math.max(...sizes)).toBeLessThan(want.length);
  });

  it("keeps each competitor's replay, so two readers of one hunt both get to the end", async () => {
    const readers = ["p2", "p3"].map((playerId) => ({
      playerId,
      pages: pager(playerId),
      got: [] as LedgerEntry[],
    }));
    let open = readers.length;
    while (open > 0) {
      for (const reader of readers) {
        const page = await reader.pages.next();
        if (page.done) open--;
        else reader.got.push(...page.value.entries);
      }
    }
    for (const reader of readers) {
      expect(reader.got).toEqual(await storedLedger(setup.client, hunt, { playerId: reader.playerId }));
    }
  });

  it("never hands back a cursor before the one it was asked with, even when it starts over", async () => {
    const want = await storedLedger(setup.client, hunt, { playerId: "p4" });
    const from = want[Math.floor(want.length / 2)]!.seq;
    const reply = await queryHunt<LedgerReply>(
      setup.client.nc,
      hunt,
      "ledger",
      { playerId: "p4", limit: 1000, after: encodeLedgerCursor(from) },
      30_000,
    );
    // Started over from seq 1 with no time to spare: not back at the cursor yet.
    expect(reply.entries).toEqual([]);
    expect(decodeLedgerCursor(reply.next!)).toBe(from);
  });
});
