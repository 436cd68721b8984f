// Outputs are confirmed by JetStream's acks and sent again until they are: an output published
// while its stream cannot store it is stored once the stream is back, exactly once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HuntFold, HuntOutputs } from "../../actors/index.ts";
import { JsRankIndex } from "../../native/index.ts";
import { CHECKPOINTS_STREAM, ensureStreams, OutputPublisher, RANKS_STREAM } from "../../streams/index.ts";
import { ev, log } from "../support/hunt-log.ts";
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

  it("after a refusal sends only the oldest unconfirmed output until it is stored, so the stream keeps them in order", async () => {
    // The test before this one made the streams: start again without them.
    await client.jsm.streams.delete(RANKS_STREAM);
    const publisher = new OutputPublisher(client.nc, { retryAfterMs: 100 });
    const seen: string[] = [];
    const tap = client.nc.subscribe("hunt.order.ranks", {
      callback: (_err, m) => {
        seen.push(m.headers?.get("Nats-Msg-Id") ?? "?");
      },
    });
    await client.nc.flush();
    const body = (seq: number) =>
      JSON.stringify({ seq, playerId: "p", score: seq, rank: 1, previousRank: 0, players: 1 });
    publisher.rankRaw("order", 1, 0, body(1));
    publisher.rankRaw("order", 2, 0, body(2));
    // No stream stores hunt.order.ranks yet: both are refused.
    await waitFor(() => publisher.resent >= 3, { message: "three resends" });
    // Published while the oldest is still refused: held back, not sent.
    publisher.rankRaw("order", 3, 0, body(3));
    await client.nc.flush();
    // The first two sends of each, then the oldest alone, however often it is sent again: were
    // the others sent beside it, a stream that appears between two of them stores them out of order.
    expect(seen.slice(0, 2)).toEqual(["order:1:0", "order:2:0"]);
    expect(new Set(seen.slice(2))).toEqual(new Set(["order:1:0"]));

    await ensureStreams(client.jsm);
    await waitFor(() => publisher.unconfirmed === 0, { timeoutMs: 10_000, message: "all confirmed" });
    const stored = await readSubject(client.js, client.jsm, RANKS_STREAM, "hunt.order.ranks");
    expect(stored.map((m) => m.msgId)).toEqual(["order:1:0", "order:2:0", "order:3:0"]);
    tap.unsubscribe();
    publisher.close();
  });

  it("goes on probing after a late ack to an earlier send: only a probe's ack says the stream takes outputs again", async () => {
    // JetStream's replies, played by a responder on the same server so that their timing is the
    // test's: the checkpoint's ack comes late, after the ranks were refused. No stream may answer.
    for (const stream of [RANKS_STREAM, CHECKPOINTS_STREAM]) {
      await client.jsm.streams.delete(stream).catch(() => false);
    }
    const publisher = new OutputPublisher(client.nc, { retryAfterMs: 100 });
    const ranksSeen: string[] = [];
    let ranksUp = false;
    let lateAck: (() => void) | undefined;
    const ack = (seq: number) => JSON.stringify({ stream: "FAKE", seq });
    const refusal = JSON.stringify({ error: { code: 503, description: "no leader" } });
    const responder = await connectTest(nats.url);
    const subs = [
      responder.nc.subscribe("hunt.late.checkpoints", {
        callback: (_e, m) => {
          lateAck ??= () => m.respond(ack(1));
        },
      }),
      responder.nc.subscribe("hunt.late.ranks", {
        callback: (_e, m) => {
          ranksSeen.push(m.headers?.get("Nats-Msg-Id") ?? "?");
          m.respond(ranksUp ? ack(ranksSeen.length) : refusal);
        },
      }),
    ];
    await responder.nc.flush();
    const checkpoint = { seq: 1, events: 1, stateHash: "h", prev: "", chain: "c" };
    publisher.checkpoint("late", 1, 0, checkpoint);
    publisher.rankRaw("late", 2, 0, "{}");
    publisher.rankRaw("late", 3, 0, "{}");
    await waitFor(() => ranksSeen.length >= 2 && lateAck !== undefined, { message: "both ranks refused" });
    // The checkpoint's first send is acked now: it is stored, but the ranks' stream is still down.
    lateAck!();
    await waitFor(() => publisher.unconfirmed === 2, { message: "the checkpoint confirmed" });
    await waitFor(() => ranksSeen.length >= 5, { message: "three more probes" });
    // Had the late ack ended the probing, both ranks would have gone again at once.
    expect(ranksSeen.slice(2)).toEqual(ranksSeen.slice(2).map(() => "late:2:0"));
    ranksUp = true;
    await waitFor(() => publisher.unconfirmed === 0, { message: "all confirmed" });
    const acked = ranksSeen.slice(ranksSeen.lastIndexOf("late:2:0"));
    expect(acked).toEqual(["late:2:0", "late:3:0"]);
    for (const sub of subs) sub.unsubscribe();
    await responder.nc.close();
    publisher.close();
  });

  it("publishes, after a restart, the outputs of an input that were not stored yet: a team message after a stored player message", async () => {
    await ensureStreams(client.jsm);
    const publisher = new OutputPublisher(client.nc, { retryAfterMs: 100 });
    const outputs = new HuntOutputs(publisher, undefined, undefined);
    const fold = new HuntFold("resume", new JsRankIndex());
    const events = [
      ev("HuntCreated", { title: "t", treasures: [{ id: "t", points: 5 }], rules: { teams: {} } }),
      ev("HuntStarted"),
      ev("TeamCreated", { teamId: "red" }),
      ev("PlayerJoined", { playerId: "p", teamId: "red" }),
      ev("TreasureFound", { playerId: "p", treasureId: "t" }),
      ev("ScoreAdjusted", { teamId: "red", delta: 2, reason: "r" }),
    ];
    // As found on activation: the last stored output is input 5's player message (n 0), not its team message.
    outputs.target = { fold, publishAfter: 5, publishAfterN: 0, topPublished: -1, teamTopPublished: -1 };
    fold.applyBatch(log(events), outputs);
    expect(await publisher.settle(5000)).toBe(0);
    const teams = await readSubject(client.js, client.jsm, RANKS_STREAM, "hunt.resume.teams.ranks");
    expect(teams.map((m) => m.msgId)).toEqual(["resume:5:1", "resume:6:0"]);
    expect(await readSubject(client.js, client.jsm, RANKS_STREAM, "hunt.resume.ranks")).toEqual([]);
    publisher.close();
  });
});
