// The merge behind `cairn watch --rejected`: two streams, each in log order, arriving interleaved in
// any way, come out in seq order; a quiet stream holds nothing for longer than the hold time; a
// message delivered twice is printed once.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SeqMerge } from "../../bin/commands/watch.ts";

const RANKS = 0;
const REJECTED = 1;

describe("SeqMerge", () => {
  let out: string[];
  let merge: SeqMerge;

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
    out = [];
    merge = new SeqMerge(2, (line) => out.push(line), { holdMs: 200 });
  });

  afterEach(() => {
    merge.close();
    vi.useRealTimers();
  });

  const push = (stream: number, seq: number, msgId?: string) => merge.push(stream, seq, String(seq), msgId);

  it("orders lines that arrive out of order across the two streams", () => {
    // The order of the report: live seq 112 arrived before 111, and 116 before 113.
    push(RANKS, 110);
    push(RANKS, 112);
    push(REJECTED, 111);
    push(RANKS, 116);
    push(REJECTED, 113);
    push(REJECTED, 114);
    push(REJECTED, 115);
    push(REJECTED, 117);
    expect(out).toEqual(["110", "111", "112", "113", "114", "115", "116"]);
    merge.close();
    expect(out.at(-1)).toBe("117");
  });

  it("releases a line after the hold time when the other stream stays quiet", () => {
    push(RANKS, 1);
    push(RANKS, 2);
    expect(out).toEqual([]);
    vi.advanceTimersByTime(199);
    expect(out).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(out).toEqual(["1", "2"]);
  });

  it("keeps every line of a seq together and drops a copy sent again", () => {
    push(RANKS, 5, "h:5:0");
    push(RANKS, 5, "h:5:0");
    push(REJECTED, 6, "h:6:0");
    push(RANKS, 7, "h:7:0");
    push(REJECTED, 6, "h:6:0");
    merge.close();
    expect(out).toEqual(["5", "6", "7"]);
  });

  it("prints a line that comes after later ones were released at once, rather than lose it", () => {
    push(RANKS, 10);
    vi.advanceTimersByTime(200);
    push(REJECTED, 9);
    expect(out).toEqual(["10", "9"]);
  });
});
