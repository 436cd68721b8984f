// Outputs are confirmed by JetStream's acks and sent again until they are: an output published
// while its stream cannot store it is stored once the stream is back, exactly once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureStreams, OutputPublisher, RANKS_STREAM } from "../../streams/index.ts";
import { connectTest, startTestNats, type TestClient, type TestNats, waitFor } from "../support/nats.ts";
import { readSubject } from "../support/outputs.ts";

describe("OutputPublisher confirmations", () => {
  let nats: TestNats;
  let client: TestClient;

  beforeAll(async () => {
    nats = await startTestNats();
    client = await connectTest(nats.url);
  });

  afterAll(async () => {
    await client?.nc.close();
    await nats?.cleanup();
  });

  it("keeps an output unconfirmed while no stream stores it, then re-sends it until it is stored once", async () => {
    const publisher = new OutputPublisher(client.nc, { retryAfterMs: 100 });
    const body = (seq: number) =>
      JSON.stringify({ seq, playerId: "p", score: seq, rank: 1, previousRank: 0, players: 1 });
    publisher.rankRaw("conf", 1, 0, body(1));
    publisher.rankRaw("conf", 2, 0, body(2));
    await client.nc.flush();
    // No stream yet: nothing can confirm them.
    expect(publisher.unconfirmed).toBe(2);
    expect(publisher.oldestUnconfirmed("conf")).toBe(1);
    await waitFor(() => publisher.resent >= 2, { message: "a resend" });

    await ensureStreams(client.jsm);
    await waitFor(() => publisher.unconfirmed === 0, {
      timeoutMs: 10_000,
      message: "both outputs confirmed",
    });
    expect(publisher.oldestUnconfirmed("conf")).toBeUndefined();
    // Sent several times, stored once each (the same Nats-Msg-Id).
    const stored = await readSubject(client.js, client.jsm, RANKS_STREAM, "hunt.conf.ranks");
    expect(stored.map((m) => m.msgId)).toEqual(["conf:1:0", "conf:2:0"]);
    expect(await publisher.settle(1000)).toBe(0);
    publisher.close();
  });
});
