// The engine's outputs carry their Nats-Msg-Id through a header object of their own: it must put on
// the wire exactly the bytes nats.js's own header map gives for the same id, or JetStream would not
// drop a resent output as a duplicate.
import { headers } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { MsgIdHeader, outputHeader } from "../../streams/publishers.ts";

/** What nats.js's publish sends for a header object. */
const wire = (h: unknown) => new TextDecoder().decode((h as { encode(): Uint8Array }).encode());

describe("MsgIdHeader", () => {
  it("encodes the bytes nats.js's header map encodes, id after id", () => {
    const ours = new MsgIdHeader();
    for (const id of ["h1:1:0", "a-hunt_2:9007199254740991:1", " spaced:3:0 ", "ü-hunt:7:2"]) {
      const theirs = headers();
      theirs.set("Nats-Msg-Id", id);
      ours.set("Nats-Msg-Id", id);
      expect(wire(ours)).toBe(wire(theirs));
      expect(ours.get("Nats-Msg-Id")).toBe(theirs.get("Nats-Msg-Id"));
      expect([...ours]).toEqual([...theirs]);
    }
  });

  it("sends an output's block, made once, as nats.js's map encodes its id, and reads the id back from it", () => {
    const ours = new MsgIdHeader();
    const cases: [string, number, number][] = [
      ["h1", 1, 0],
      ["a-hunt_2", Number.MAX_SAFE_INTEGER, 1],
      ["Z".repeat(64), 10, 2],
      ["ü-hunt", 7, 2], // not a valid hunt id (a rejection of its subject): made the general way
      [" spaced", 3, 0],
    ];
    for (const [hunt, seq, n] of cases) {
      const theirs = headers();
      theirs.set("Nats-Msg-Id", `${hunt}:${seq}:${n}`);
      ours.setBlock(outputHeader(hunt, seq, n));
      expect(wire(ours)).toBe(wire(theirs));
      expect(ours.get("Nats-Msg-Id")).toBe(theirs.get("Nats-Msg-Id"));
      expect([...ours]).toEqual([...theirs]);
    }
  });

  it("refuses any other header and a line break in the id", () => {
    const h = new MsgIdHeader();
    expect(() => h.set("Nats-Expected-Stream", "HUNT_RANKS")).toThrow(/only Nats-Msg-Id/);
    expect(() => h.set("Nats-Msg-Id", "a\r\nNats-Expected-Stream: X")).toThrow(/cannot contain/);
  });

  it("is empty once its id is deleted", () => {
    const h = new MsgIdHeader();
    h.set("Nats-Msg-Id", "h1:1:0");
    h.delete("Nats-Msg-Id");
    expect(h.has("Nats-Msg-Id")).toBe(false);
    expect(wire(h)).toBe(wire(headers()));
  });
});
