// deliveryOf reads a delivered message's ack subject in one scan; anything it does not recognise is
// left to nats.js's own parse.
import type { JsMsg } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { deliveryOf } from "../../streams/index.ts";

/** A message whose nats.js `info` must not be asked for: the subject alone has to do. */
function message(reply: string): JsMsg {
  return {
    reply,
    get info(): never {
      throw new Error("nats.js's parse was used");
    },
  } as unknown as JsMsg;
}

/** A message with an ack subject deliveryOf does not read, and what nats.js says of it. */
function unusual(reply: string) {
  const info = { streamSequence: 7, deliverySequence: 3, pending: 2 };
  return { reply, info, timestampNanos: 1_700_000_000_123_999_999n } as unknown as JsMsg;
}

describe("deliveryOf", () => {
  it("reads the 9-token form", () => {
    expect(deliveryOf(message("$JS.ACK.HUNT_EVENTS.c1.1.41.17.1700000000123456789.5"))).toEqual({
      streamSequence: 41,
      deliverySequence: 17,
      pending: 5,
      timeMs: 1_700_000_000_123,
    });
  });

  it("reads the 11-token form with a domain and an account hash, and tokens after it", () => {
    for (const tail of ["", ".r4nd0m"]) {
      const d = deliveryOf(
        message(`$JS.ACK.hub.ACCHASH.HUNT_EVENTS.c1.2.9007199254740991.3.1700000000999000000.0${tail}`),
      );
      expect(d).toEqual({
        streamSequence: 2 ** 53 - 1,
        deliverySequence: 3,
        pending: 0,
        timeMs: 1_700_000_000_999,
      });
    }
  });

  it("fills the object it is given, for every message of a read", () => {
    const into = deliveryOf(message("$JS.ACK.S.c.1.1.1.1000000.9"));
    expect(deliveryOf(message("$JS.ACK.S.c.1.2.2.2000000.8"), into)).toBe(into);
    expect(into).toMatchObject({ streamSequence: 2, pending: 8, timeMs: 2 });
  });

  it("leaves any other subject to nats.js", () => {
    for (const reply of [
      "$JS.ACK.S.c.1.x.2.1000000.9", // not a number
      "$JS.ACK.S.c.1.99999999999999999.2.1000000.9", // past 2^53
      "$JS.ACK.S.c.1.2.3.999.9", // under a millisecond
      "$JS.ACK.S.c.1.2.3", // too few tokens
      "_INBOX.abc", // not an ack subject
    ]) {
      expect(deliveryOf(unusual(reply))).toEqual({
        streamSequence: 7,
        deliverySequence: 3,
        pending: 2,
        timeMs: 1_700_000_000_123,
      });
    }
  });
});
