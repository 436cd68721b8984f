// schemas/asyncapi.yaml parses with @asyncapi/parser, with no errors, and describes every subject this engine
// serves (schemas/CONTRACT.md, "Subjects and streams").
import { join } from "node:path";
import { fromFile, Parser } from "@asyncapi/parser";
import { describe, expect, it } from "vitest";
import { HUNT_EVENT_TYPES } from "../../schemas/index.ts";

describe("schemas/asyncapi.yaml", () => {
  it("parses without errors and covers every subject", async () => {
    const parser = new Parser();
    const { document, diagnostics } = await fromFile(
      parser,
      join(import.meta.dirname, "../../schemas/asyncapi.yaml"),
    ).parse();
    const errors = diagnostics.filter((d) => d.severity === 0);
    expect(errors.map((d) => `${d.code}: ${d.message} at ${d.path.join(".")}`)).toEqual([]);
    expect(document).toBeDefined();
    const channels = document!
      .channels()
      .all()
      .map((c) => c.address());
    expect(channels.sort()).toEqual(
      [
        "hunt.{huntId}.checkpoints",
        "hunt.{huntId}.events",
        "hunt.{huntId}.ranks",
        "hunt.{huntId}.teams.ranks",
        "hunt.{huntId}.top",
        "hunt.{huntId}.teams.top",
        "hunt.{huntId}.rejected",
        "hunt.{huntId}.query.top",
        "hunt.{huntId}.query.rank",
        "hunt.{huntId}.query.around",
        "hunt.{huntId}.query.state",
        "hunt.{huntId}.query.ledger",
        "hunt.{huntId}.public.top",
        "hunt.{huntId}.public.rank",
        "hunt.{huntId}.public.around",
        "hunt.{huntId}.public.state",
      ].sort(),
    );
    const messages = document!
      .components()
      .messages()
      .all()
      .map((m) => m.id());
    for (const t of [
      ...HUNT_EVENT_TYPES,
      "RankChange",
      "TeamRankChange",
      "Rejection",
      "TopN",
      "TeamsTopN",
      "ErrorReply",
    ]) {
      expect(messages).toContain(t);
    }
  });
});
