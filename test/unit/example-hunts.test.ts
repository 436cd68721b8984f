// The ready-made hunts in examples/hunts stay valid: every line decodes, and the fold applies every
// event of each file, ending where the folder's README says it does. The hunt definitions the
// game-server examples play are valid HuntCreated data.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { HuntFold } from "../../actors/index.ts";
import { JsRankIndex } from "../../native/index.ts";
import { decodeEvent } from "../../schemas/index.ts";
import { CollectingSink, ev, log } from "../support/hunt-log.ts";

const lines = (file: string) =>
  readFileSync(new URL(`../../examples/hunts/${file}`, import.meta.url), "utf8")
    .trim()
    .split("\n");

describe("examples/hunts", () => {
  it.each([
    ["solo-hunt.ndjson", "finalized", 4],
    ["timed-clue-chain.ndjson", "running", 2],
  ])(
    "%s decodes, and folds with no rejection to status %s with %i players on the board",
    (file, status, players) => {
      const events = lines(file);
      for (const line of events)
        expect(decodeEvent(new TextEncoder().encode(line))).toMatchObject({ ok: true });
      expect(new Set(events.map((l) => (JSON.parse(l) as { id: string }).id)).size).toBe(events.length);
      const fold = new HuntFold(file, new JsRankIndex());
      const sink = new CollectingSink();
      fold.applyBatch(log(events), sink);
      expect(sink.outputs.filter((o) => o.kind === "rejected")).toEqual([]);
      expect({ status: fold.status, players: fold.joined }).toEqual({ status, players });
    },
  );

  it.each([
    ["solo-chain.json", false],
    ["team-hunt.json", true],
  ])("%s is the data of a HuntCreated the fold applies (team hunt: %s)", (file, teams) => {
    const data = JSON.parse(lines(file).join("\n")) as {
      rules: { teams?: unknown };
      treasures: { review?: boolean }[];
    };
    const created = ev("HuntCreated", data);
    expect(decodeEvent(new TextEncoder().encode(JSON.stringify(created)))).toMatchObject({ ok: true });
    const fold = new HuntFold(file, new JsRankIndex());
    const sink = new CollectingSink();
    fold.applyBatch(log([created]), sink);
    expect(sink.outputs).toEqual([]);
    expect(fold.status).toBe("created");
    // The examples play a team hunt, with a submission and its review, exactly when the file says so.
    expect({
      teams: data.rules.teams !== undefined,
      review: data.treasures.some((t) => t.review === true),
    }).toEqual({
      teams,
      review: teams,
    });
  });
});
