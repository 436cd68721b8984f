// The JSON Schemas and decodeEvent/decodeQuery: the examples of schemas/CONTRACT.md pass, a table of bad
// inputs fails with clear messages.
import { describe, expect, it } from "vitest";
import {
  decodeEvent,
  decodeQuery,
  HUNT_EVENT_TYPES,
  isValidHuntId,
  MAX_EVENT_BYTES,
  outputValidators,
  REJECTION_CODES,
} from "../../schemas/index.ts";

const enc = new TextEncoder();
const bytes = (v: unknown) => enc.encode(typeof v === "string" ? v : JSON.stringify(v));
const ev = (type: string, data?: unknown, extra: Record<string, unknown> = {}) => ({
  specversion: "1.0",
  id: "e-1",
  source: "game-server-7",
  type,
  ...(data === undefined ? {} : { data }),
  ...extra,
});
const sha = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";

describe("decodeEvent accepts", () => {
  it("the example of the contract (schemas/CONTRACT.md)", () => {
    const r = decodeEvent(
      bytes(
        '{"specversion":"1.0","id":"e-42","source":"game-server-7","type":"TreasureFound",\n "data":{"playerId":"p-17","treasureId":"t-3","answer":"golden key"}}',
      ),
    );
    expect(r).toEqual({
      ok: true,
      event: {
        specversion: "1.0",
        id: "e-42",
        source: "game-server-7",
        type: "TreasureFound",
        data: { playerId: "p-17", treasureId: "t-3", answer: "golden key" },
      },
    });
  });

  const good: Array<[string, unknown]> = [
    [
      "HuntCreated",
      ev("HuntCreated", {
        title: "Spring",
        treasures: [
          { id: "t-1", points: 10, answerSha256: sha },
          { id: "t-2", points: 0 },
        ],
        rules: { firstFinderBonus: [5, 3, 1], hintPenalty: 2, maxPlayers: 100 },
      }),
    ],
    ["HuntStarted without data", ev("HuntStarted")],
    ["HuntPaused with empty data", ev("HuntPaused", {})],
    ["HuntResumed", ev("HuntResumed")],
    ["HuntEnded", ev("HuntEnded")],
    ["PlayerJoined", ev("PlayerJoined", { playerId: "p-1", name: "Ada" })],
    ["PlayerLeft", ev("PlayerLeft", { playerId: "p-1" })],
    ["TreasureFound without answer", ev("TreasureFound", { playerId: "p-1", treasureId: "t-1" })],
    ["HintTaken", ev("HintTaken", { playerId: "p-1", treasureId: "t-1" })],
    [
      "ScoreAdjusted (negative, largest safe)",
      ev("ScoreAdjusted", { playerId: "p-1", delta: -9007199254740991, reason: "cheating" }),
    ],
    [
      "extension attributes and unknown data fields",
      ev(
        "PlayerJoined",
        { playerId: "p", futureField: [1] },
        { traceparent: "00-abc", time: "2025-01-01T00:00:00Z" },
      ),
    ],
    ["128-char ids", ev("HintTaken", { playerId: "p".repeat(128), treasureId: "t".repeat(128) })],
    [
      "ids in any script, emoji included",
      ev("HintTaken", { playerId: "🦊 Ünïcødé 名前", treasureId: "宝-🗝️" }),
    ],
    ["128 emoji (256 UTF-16 units) as a playerId", ev("PlayerJoined", { playerId: "🦊".repeat(128) })],
    // The version 2 events and fields this engine serves (schemas/CONTRACT.md, Part 1).
    ["HuntFinalized without data", ev("HuntFinalized")],
    ["HuntFinalized by someone", ev("HuntFinalized", { by: "b".repeat(256) })],
    ["HuntEnded with a reason", ev("HuntEnded", { reason: "r".repeat(256) })],
    // The first version accepted any reason, and its logs must fold the same.
    ["HuntEnded with a reason of any type or length", ev("HuntEnded", { reason: { why: "r".repeat(2000) } })],
    ["PlayerDisqualified", ev("PlayerDisqualified", { playerId: "p-1", reason: "r".repeat(1024) })],
    ["PlayerDisqualified by someone", ev("PlayerDisqualified", { playerId: "p-1", reason: "", by: "judge" })],
    ["ScoreAdjusted by team id", ev("ScoreAdjusted", { teamId: "team-1", delta: 3, reason: "bonus" })],
    ["ScoreAdjusted by someone", ev("ScoreAdjusted", { playerId: "p-1", delta: 3, reason: "r", by: "org" })],
    [
      "HuntCreated with every treasure rule and durationMs",
      ev("HuntCreated", {
        title: "Timed",
        treasures: [
          { id: "t-1", points: 10, opensAfterMs: 0, closesAfterMs: 60_000 },
          {
            id: "t-2",
            points: 20,
            requires: ["t-1"],
            decay: { everyMs: 1, step: 1, min: 0 },
            location: { lat: -90, lon: 180, radiusM: 0.5 },
          },
        ],
        rules: { durationMs: 1 },
      }),
    ],
    [
      // The fold, not the schema, checks that requires names other treasures with no cycle.
      "HuntCreated whose requires names no treasure (rejected by the fold, not when read)",
      ev("HuntCreated", { title: "x", treasures: [{ id: "t-1", points: 1, requires: ["t-1", "nope"] }] }),
    ],
    [
      "HuntCreated with review, and rules.teams (ignored: not served)",
      ev("HuntCreated", {
        title: "x",
        treasures: [{ id: "t-1", points: 1, review: true }],
        rules: { teams: { maxSize: 4 } },
      }),
    ],
    [
      "TreasureFound with a location",
      ev("TreasureFound", { playerId: "p-1", treasureId: "t-1", location: { lat: 48.8584, lon: 2.2945 } }),
    ],
    ["PlayerJoined with a teamId (ignored)", ev("PlayerJoined", { playerId: "p-1", teamId: "team-1" })],
    [
      "SubmissionMade",
      ev("SubmissionMade", { submissionId: "s".repeat(128), playerId: "p", treasureId: "t" }),
    ],
    [
      "SubmissionMade with evidence and a location",
      ev("SubmissionMade", {
        submissionId: "s-1",
        playerId: "p",
        treasureId: "t",
        evidence: "e".repeat(2048),
        location: { lat: 1, lon: 2 },
      }),
    ],
    ["SubmissionReviewed", ev("SubmissionReviewed", { submissionId: "s-1", approved: false, reviewer: "r" })],
    [
      "SubmissionReviewed with points and a reason",
      ev("SubmissionReviewed", {
        submissionId: "s-1",
        approved: true,
        reviewer: "r",
        points: 0,
        reason: "ok",
      }),
    ],
    ["StandingsFrozen without data", ev("StandingsFrozen")],
    ["StandingsRevealed by someone", ev("StandingsRevealed", { by: "org" })],
  ];
  it.each(good)("%s", (_name, event) => {
    const r = decodeEvent(bytes(event));
    expect(r.ok, JSON.stringify(r)).toBe(true);
  });

  it("normalises data: {} for no-field types, lowercase answerSha256, hintPenalty 0", () => {
    const started = decodeEvent(bytes(ev("HuntStarted")));
    expect(started.ok && started.event.data).toEqual({});
    const created = decodeEvent(
      bytes(ev("HuntCreated", { title: "x", treasures: [{ id: "t", points: 1, answerSha256: sha }] })),
    );
    if (!created.ok || created.event.type !== "HuntCreated") throw new Error("expected HuntCreated");
    expect(created.event.data.treasures[0]!.answerSha256).toBe(sha.toLowerCase());
    expect(created.event.data.rules.hintPenalty).toBe(0);
    const withRules = decodeEvent(
      bytes(ev("HuntCreated", { title: "x", treasures: [{ id: "t", points: 1 }], rules: { maxPlayers: 2 } })),
    );
    expect(withRules.ok && withRules.event.type === "HuntCreated" && withRules.event.data.rules).toEqual({
      maxPlayers: 2,
      hintPenalty: 0,
    });
  });

  it("covers every input type", () => {
    expect([...HUNT_EVENT_TYPES].sort()).toEqual([
      "HintTaken",
      "HuntCreated",
      "HuntEnded",
      "HuntFinalized",
      "HuntPaused",
      "HuntResumed",
      "HuntStarted",
      "PlayerDisqualified",
      "PlayerJoined",
      "PlayerLeft",
      "ScoreAdjusted",
      "StandingsFrozen",
      "StandingsRevealed",
      "SubmissionMade",
      "SubmissionReviewed",
      "TeamCreated",
      "TreasureFound",
    ]);
  });
});

describe("decodeEvent rejects", () => {
  const treasures = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `t-${i}`, points: 1 }));
  const padded = (n: number) => ev("PlayerJoined", { playerId: "p", pad: "x".repeat(n) });
  const bad: Array<[string, string | Uint8Array | unknown, RegExp, string | null, string | null]> = [
    ["not JSON", "{nope", /^not valid JSON: /, null, null],
    ["not UTF-8", new Uint8Array([0x7b, 0xff, 0x7d]), /^not valid UTF-8/, null, null],
    ["a JSON array", "[1]", /must be a JSON object/, null, null],
    ["a JSON string", '"x"', /must be a JSON object/, null, null],
    [
      "missing specversion",
      { id: "e-1", source: "s", type: "HuntStarted" },
      /^specversion: is required$/,
      "e-1",
      "HuntStarted",
    ],
    [
      "wrong specversion",
      ev("HuntStarted", undefined, { specversion: "0.3" }),
      /^specversion: must be "1.0"$/,
      "e-1",
      "HuntStarted",
    ],
    [
      "missing id",
      { specversion: "1.0", source: "s", type: "HuntStarted" },
      /^id: is required$/,
      null,
      "HuntStarted",
    ],
    [
      "empty id",
      ev("HuntStarted", undefined, { id: "" }),
      /^id: must be a non-empty string$/,
      "",
      "HuntStarted",
    ],
    [
      "numeric id",
      ev("HuntStarted", undefined, { id: 7 }),
      /^id: must be a non-empty string$/,
      null,
      "HuntStarted",
    ],
    [
      "missing source",
      { specversion: "1.0", id: "e-1", type: "HuntStarted" },
      /^source: is required$/,
      "e-1",
      "HuntStarted",
    ],
    ["missing type", { specversion: "1.0", id: "e-1", source: "s" }, /^type: is required$/, "e-1", null],
    ["unknown type", ev("Foo"), /^unknown type "Foo"/, "e-1", "Foo"],
    ["prototype type", ev("constructor"), /^unknown type "constructor"/, "e-1", "constructor"],
    ["missing data", ev("PlayerJoined"), /^data: is required$/, "e-1", "PlayerJoined"],
    ["null data", ev("HuntStarted", null), /^data: must be an object$/, "e-1", "HuntStarted"],
    [
      "empty playerId",
      ev("PlayerJoined", { playerId: "" }),
      /^data\.playerId: must be a non-empty string$/,
      "e-1",
      "PlayerJoined",
    ],
    [
      "numeric playerId",
      ev("PlayerLeft", { playerId: 17 }),
      /^data\.playerId: must be a non-empty string$/,
      "e-1",
      "PlayerLeft",
    ],
    [
      "129-char playerId",
      ev("PlayerLeft", { playerId: "p".repeat(129) }),
      /^data\.playerId: must be at most 128 characters$/,
      "e-1",
      "PlayerLeft",
    ],
    [
      "missing treasureId",
      ev("TreasureFound", { playerId: "p" }),
      /^data\.treasureId: is required$/,
      "e-1",
      "TreasureFound",
    ],
    [
      "1025-char answer",
      ev("TreasureFound", { playerId: "p", treasureId: "t", answer: "a".repeat(1025) }),
      /^data\.answer: must be at most 1024 characters$/,
      "e-1",
      "TreasureFound",
    ],
    [
      "string delta",
      ev("ScoreAdjusted", { playerId: "p", delta: "5", reason: "r" }),
      /^data\.delta: must be an integer/,
      "e-1",
      "ScoreAdjusted",
    ],
    [
      "fractional delta",
      ev("ScoreAdjusted", { playerId: "p", delta: 1.5, reason: "r" }),
      /^data\.delta: must be an integer/,
      "e-1",
      "ScoreAdjusted",
    ],
    [
      "unsafe delta",
      '{"specversion":"1.0","id":"e-1","source":"s","type":"ScoreAdjusted","data":{"playerId":"p","delta":9007199254740992,"reason":"r"}}',
      /^data\.delta: must be an integer in the safe-integer range/,
      "e-1",
      "ScoreAdjusted",
    ],
    [
      "missing reason",
      ev("ScoreAdjusted", { playerId: "p", delta: 1 }),
      /^data\.reason: is required$/,
      "e-1",
      "ScoreAdjusted",
    ],
    [
      "no treasures",
      ev("HuntCreated", { title: "x", treasures: [] }),
      /^data\.treasures: must have at least 1 item$/,
      "e-1",
      "HuntCreated",
    ],
    [
      "10,001 treasures",
      ev("HuntCreated", { title: "x", treasures: treasures(10_001) }),
      /^data\.treasures: must have at most 10000 items$/,
      "e-1",
      "HuntCreated",
    ],
    [
      "duplicate treasure ids",
      ev("HuntCreated", {
        title: "x",
        treasures: [
          { id: "t-3", points: 1 },
          { id: "t-3", points: 2 },
        ],
      }),
      /^data\.treasures: duplicate treasure id "t-3"$/,
      "e-1",
      "HuntCreated",
    ],
    [
      "negative points",
      ev("HuntCreated", { title: "x", treasures: [{ id: "t", points: -1 }] }),
      /^data\.treasures\[0\]\.points: must be an integer ≥ 0/,
      "e-1",
      "HuntCreated",
    ],
    [
      "unsafe points",
      '{"specversion":"1.0","id":"e-1","source":"s","type":"HuntCreated","data":{"title":"x","treasures":[{"id":"t","points":1e300}]}}',
      /^data\.treasures\[0\]\.points: must be an integer/,
      "e-1",
      "HuntCreated",
    ],
    [
      "short answerSha256",
      ev("HuntCreated", { title: "x", treasures: [{ id: "t", points: 1, answerSha256: "abc" }] }),
      /^data\.treasures\[0\]\.answerSha256: must be 64 hexadecimal/,
      "e-1",
      "HuntCreated",
    ],
    [
      "257-char title",
      ev("HuntCreated", { title: "x".repeat(257), treasures: treasures(1) }),
      /^data\.title: must be at most 256 characters$/,
      "e-1",
      "HuntCreated",
    ],
    [
      "missing title",
      ev("HuntCreated", { treasures: treasures(1) }),
      /^data\.title: is required$/,
      "e-1",
      "HuntCreated",
    ],
    [
      "maxPlayers 0",
      ev("HuntCreated", { title: "x", treasures: treasures(1), rules: { maxPlayers: 0 } }),
      /^data\.rules\.maxPlayers: must be an integer ≥ 1/,
      "e-1",
      "HuntCreated",
    ],
    [
      "fractional bonus",
      ev("HuntCreated", { title: "x", treasures: treasures(1), rules: { firstFinderBonus: [1, 0.5] } }),
      /^data\.rules\.firstFinderBonus\[1\]: must be an integer/,
      "e-1",
      "HuntCreated",
    ],
    [
      "string hintPenalty",
      ev("HuntCreated", { title: "x", treasures: treasures(1), rules: { hintPenalty: "2" } }),
      /^data\.rules\.hintPenalty: must be an integer/,
      "e-1",
      "HuntCreated",
    ],
    ["data not an object", ev("PlayerJoined", [1]), /^data: must be an object$/, "e-1", "PlayerJoined"],
    // Ids are well-formed Unicode with no control characters: a lone surrogate would not survive
    // UTF-8, and a control character has no business in a name shown on a board.
    ...(
      [
        ["a lone high surrogate", "\ud83d"],
        ["a lone low surrogate", "p\udc00"],
        ["a NUL", "p\u0000q"],
        ["a line feed", "p\nq"],
        ["a DEL", "p\u007f"],
        ["a C1 control", "p\u0085"],
      ] as const
    ).map(
      ([what, id]) =>
        [
          `a playerId with ${what}`,
          ev("PlayerJoined", { playerId: id }),
          /^data\.playerId: must be well-formed Unicode with no control characters$/,
          "e-1",
          "PlayerJoined",
        ] as (typeof bad)[number],
    ),
    [
      "a treasureId with a lone surrogate",
      ev("HintTaken", { playerId: "p", treasureId: "\udfff" }),
      /^data\.treasureId: must be well-formed Unicode with no control characters$/,
      "e-1",
      "HintTaken",
    ],
    [
      "a treasure id with a control character in HuntCreated",
      ev("HuntCreated", { title: "x", treasures: [{ id: "t\u0001", points: 1 }] }),
      /^data\.treasures\[0\]\.id: must be well-formed Unicode with no control characters$/,
      "e-1",
      "HuntCreated",
    ],
    [
      "an event id with a lone surrogate",
      ev("HuntStarted", undefined, { id: "e\ud800" }),
      /^id: must be well-formed Unicode with no control characters$/,
      "e\ud800",
      "HuntStarted",
    ],
    [
      "a 129-character event id",
      ev("HuntStarted", undefined, { id: "e".repeat(129) }),
      /^id: must be at most 128 characters$/,
      "e".repeat(129),
      "HuntStarted",
    ],
    // The version 2 events and fields this engine serves.
    [
      "ScoreAdjusted with both playerId and teamId",
      ev("ScoreAdjusted", { playerId: "p", teamId: "t", delta: 1, reason: "r" }),
      /^data: must have exactly one of playerId and teamId$/,
      "e-1",
      "ScoreAdjusted",
    ],
    [
      "ScoreAdjusted with neither playerId nor teamId",
      ev("ScoreAdjusted", { delta: 1, reason: "r" }),
      /^data: must have exactly one of playerId and teamId$/,
      "e-1",
      "ScoreAdjusted",
    ],
    [
      "ScoreAdjusted with an empty teamId",
      ev("ScoreAdjusted", { teamId: "", delta: 1, reason: "r" }),
      /^data\.teamId: must be a non-empty string$/,
      "e-1",
      "ScoreAdjusted",
    ],
    [
      "ScoreAdjusted with a 257-character by",
      ev("ScoreAdjusted", { playerId: "p", delta: 1, reason: "r", by: "b".repeat(257) }),
      /^data\.by: must be at most 256 characters$/,
      "e-1",
      "ScoreAdjusted",
    ],
    [
      "HuntFinalized with a 257-character by",
      ev("HuntFinalized", { by: "b".repeat(257) }),
      /^data\.by: must be at most 256 characters$/,
      "e-1",
      "HuntFinalized",
    ],
    [
      "HuntFinalized with null data",
      ev("HuntFinalized", null),
      /^data: must be an object$/,
      "e-1",
      "HuntFinalized",
    ],
    [
      "PlayerDisqualified without reason",
      ev("PlayerDisqualified", { playerId: "p" }),
      /^data\.reason: is required$/,
      "e-1",
      "PlayerDisqualified",
    ],
    [
      "PlayerDisqualified without playerId",
      ev("PlayerDisqualified", { reason: "r" }),
      /^data\.playerId: is required$/,
      "e-1",
      "PlayerDisqualified",
    ],
    [
      "PlayerDisqualified with a 1025-character reason",
      ev("PlayerDisqualified", { playerId: "p", reason: "r".repeat(1025) }),
      /^data\.reason: must be at most 1024 characters$/,
      "e-1",
      "PlayerDisqualified",
    ],
    [
      "requires that is not an array",
      ev("HuntCreated", { title: "x", treasures: [{ id: "t", points: 1, requires: "t" }] }),
      /^data\.treasures\[0\]\.requires: must be an array$/,
      "e-1",
      "HuntCreated",
    ],
    [
      "requires naming an empty id",
      ev("HuntCreated", { title: "x", treasures: [{ id: "t", points: 1, requires: [""] }] }),
      /^data\.treasures\[0\]\.requires\[0\]: must be a non-empty string$/,
      "e-1",
      "HuntCreated",
    ],
    [
      "negative opensAfterMs",
      ev("HuntCreated", { title: "x", treasures: [{ id: "t", points: 1, opensAfterMs: -1 }] }),
      /^data\.treasures\[0\]\.opensAfterMs: must be an integer ≥ 0/,
      "e-1",
      "HuntCreated",
    ],
    [
      "fractional closesAfterMs",
      ev("HuntCreated", { title: "x", treasures: [{ id: "t", points: 1, closesAfterMs: 1.5 }] }),
      /^data\.treasures\[0\]\.closesAfterMs: must be an integer ≥ 0/,
      "e-1",
      "HuntCreated",
    ],
    [
      "decay every 0 ms",
      ev("HuntCreated", {
        title: "x",
        treasures: [{ id: "t", points: 1, decay: { everyMs: 0, step: 1, min: 0 } }],
      }),
      /^data\.treasures\[0\]\.decay\.everyMs: must be an integer ≥ 1/,
      "e-1",
      "HuntCreated",
    ],
    [
      "decay with step 0",
      ev("HuntCreated", {
        title: "x",
        treasures: [{ id: "t", points: 1, decay: { everyMs: 1, step: 0, min: 0 } }],
      }),
      /^data\.treasures\[0\]\.decay\.step: must be an integer ≥ 1/,
      "e-1",
      "HuntCreated",
    ],
    [
      "decay without min",
      ev("HuntCreated", { title: "x", treasures: [{ id: "t", points: 1, decay: { everyMs: 1, step: 1 } }] }),
      /^data\.treasures\[0\]\.decay\.min: is required$/,
      "e-1",
      "HuntCreated",
    ],
    [
      "a treasure location without radiusM",
      ev("HuntCreated", { title: "x", treasures: [{ id: "t", points: 1, location: { lat: 0, lon: 0 } }] }),
      /^data\.treasures\[0\]\.location\.radiusM: is required$/,
      "e-1",
      "HuntCreated",
    ],
    [
      "a treasure location with radius 0",
      ev("HuntCreated", {
        title: "x",
        treasures: [{ id: "t", points: 1, location: { lat: 0, lon: 0, radiusM: 0 } }],
      }),
      /^data\.treasures\[0\]\.location\.radiusM: .*> 0$/,
      "e-1",
      "HuntCreated",
    ],
    [
      "a treasure latitude above 90",
      ev("HuntCreated", {
        title: "x",
        treasures: [{ id: "t", points: 1, location: { lat: 90.5, lon: 0, radiusM: 1 } }],
      }),
      /^data\.treasures\[0\]\.location\.lat: .*<= 90$/,
      "e-1",
      "HuntCreated",
    ],
    [
      "durationMs 0",
      ev("HuntCreated", { title: "x", treasures: treasures(1), rules: { durationMs: 0 } }),
      /^data\.rules\.durationMs: must be an integer ≥ 1/,
      "e-1",
      "HuntCreated",
    ],
    [
      "a string durationMs",
      ev("HuntCreated", { title: "x", treasures: treasures(1), rules: { durationMs: "60000" } }),
      /^data\.rules\.durationMs: must be an integer/,
      "e-1",
      "HuntCreated",
    ],
    [
      "a find's location without lon",
      ev("TreasureFound", { playerId: "p", treasureId: "t", location: { lat: 1 } }),
      /^data\.location\.lon: is required$/,
      "e-1",
      "TreasureFound",
    ],
    [
      "a find's longitude below -180",
      ev("TreasureFound", { playerId: "p", treasureId: "t", location: { lat: 1, lon: -180.5 } }),
      /^data\.location\.lon: .*>= -180$/,
      "e-1",
      "TreasureFound",
    ],
    [
      "a find's location that is not an object",
      ev("TreasureFound", { playerId: "p", treasureId: "t", location: "48.85,2.29" }),
      /^data\.location: must be an object$/,
      "e-1",
      "TreasureFound",
    ],
    [
      "a submission without submissionId",
      ev("SubmissionMade", { playerId: "p", treasureId: "t" }),
      /^data\.submissionId: is required$/,
      "e-1",
      "SubmissionMade",
    ],
    [
      "a 129-char submissionId",
      ev("SubmissionMade", { submissionId: "s".repeat(129), playerId: "p", treasureId: "t" }),
      /^data\.submissionId: must be at most 128 characters$/,
      "e-1",
      "SubmissionMade",
    ],
    [
      "evidence over 2,048 characters",
      ev("SubmissionMade", { submissionId: "s", playerId: "p", treasureId: "t", evidence: "e".repeat(2049) }),
      /^data\.evidence: must be at most 2048 characters$/,
      "e-1",
      "SubmissionMade",
    ],
    [
      "a review without reviewer",
      ev("SubmissionReviewed", { submissionId: "s", approved: true }),
      /^data\.reviewer: is required$/,
      "e-1",
      "SubmissionReviewed",
    ],
    [
      "a review whose approved is not a boolean",
      ev("SubmissionReviewed", { submissionId: "s", approved: "yes", reviewer: "r" }),
      /^data\.approved: must be a boolean$/,
      "e-1",
      "SubmissionReviewed",
    ],
    [
      "a review with negative points",
      ev("SubmissionReviewed", { submissionId: "s", approved: true, reviewer: "r", points: -1 }),
      /^data\.points: must be an integer ≥ 0/,
      "e-1",
      "SubmissionReviewed",
    ],
    [
      "a freeze by a name over 256 characters",
      ev("StandingsFrozen", { by: "b".repeat(257) }),
      /^data\.by: must be at most 256 characters$/,
      "e-1",
      "StandingsFrozen",
    ],
  ];
  it.each(bad)("%s", (_name, input, message, eventId, type) => {
    const r = decodeEvent(input instanceof Uint8Array ? input : bytes(input));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe("invalid_event");
    expect(r.message).toMatch(message);
    expect(r.eventId).toBe(eventId);
    expect(r.type).toBe(type);
  });

  it("oversize messages: 64 KiB for most types, 1 MiB for HuntCreated (10,000 treasures do not fit in 64 KiB)", () => {
    const big = bytes(padded(70_000));
    expect(decodeEvent(big)).toEqual({
      ok: false,
      code: "invalid_event",
      message: `message is ${big.length} bytes, the limit is 65536`,
      eventId: "e-1",
      type: "PlayerJoined",
    });
    const created = decodeEvent(
      bytes(
        ev("HuntCreated", {
          title: "x",
          treasures: Array.from({ length: 10_000 }, (_, i) => ({ id: `t-${i}`, points: 1 })),
        }),
      ),
    );
    expect(created.ok).toBe(true);
    const huge = decodeEvent(new Uint8Array(2_000_000).fill(0x20));
    expect(huge.ok === false && huge.message).toBe(
      "message is 2000000 bytes, the limit is 65536 (1048576 for HuntCreated)",
    );
  });

  it("oversize messages that are not even JSON", () => {
    const r = decodeEvent(new Uint8Array(70_000).fill(0x20));
    expect(r).toEqual({
      ok: false,
      code: "invalid_event",
      message: "message is 70000 bytes, the limit is 65536",
      eventId: null,
      type: null,
    });
    expect(decodeEvent(new Uint8Array(MAX_EVENT_BYTES).fill(0x20)).ok).toBe(false); // whitespace only: not JSON
  });
});

describe("isValidHuntId", () => {
  it.each([
    ["spring-2025", true],
    ["hunt_42", true],
    ["x".repeat(64), true],
    ["", false],
    ["x".repeat(65), false],
    ["a.b", false],
    ["a b", false],
    ["é", false],
    [42, false],
  ])("%j → %s", (huntId, valid) => {
    expect(isValidHuntId(huntId)).toBe(valid);
  });
});

describe("decodeQuery", () => {
  it("accepts the contract's requests and fills defaults", () => {
    expect(decodeQuery("top", bytes({ n: 10 }))).toEqual({ ok: true, request: { n: 10 } });
    expect(decodeQuery("top", bytes({ n: 10, after: "c1" }))).toEqual({
      ok: true,
      request: { n: 10, after: "c1" },
    });
    expect(decodeQuery("top", bytes({}))).toEqual({ ok: true, request: { n: 10 } });
    expect(decodeQuery("rank", bytes({ playerId: "p-1" }))).toEqual({
      ok: true,
      request: { playerId: "p-1" },
    });
    expect(decodeQuery("around", bytes({ playerId: "p", before: 5, after: 5 }))).toEqual({
      ok: true,
      request: { playerId: "p", before: 5, after: 5 },
    });
    expect(decodeQuery("state", bytes({}))).toEqual({ ok: true, request: {} });
    expect(decodeQuery("state", new Uint8Array())).toEqual({ ok: true, request: {} });
  });

  it("accepts the team board's requests: top with board, rank and around by teamId", () => {
    expect(decodeQuery("top", bytes({ board: "teams" }))).toEqual({
      ok: true,
      request: { n: 10, board: "teams" },
    });
    expect(decodeQuery("rank", bytes({ teamId: "red" }))).toEqual({ ok: true, request: { teamId: "red" } });
    expect(decodeQuery("around", bytes({ teamId: "red", before: 1 }))).toEqual({
      ok: true,
      request: { teamId: "red", before: 1, after: 5 },
    });
  });

  it.each([
    ["top", "{", /^not valid JSON/],
    ["top", { n: 0 }, /^n: must be an integer from 1 to 1000$/],
    ["top", { n: "5" }, /^n: must be/],
    ["rank", {}, /^request must have exactly one of playerId and teamId$/],
    ["rank", { playerId: "p", teamId: "t" }, /^request must have exactly one of playerId and teamId$/],
    ["around", { teamId: "" }, /^teamId: must be a non-empty string$/],
    ["top", { board: "clubs" }, /^board: must be one of "players", "teams"$/],
    ["around", { playerId: "p", before: -1 }, /^before: must be an integer from 0 to 500$/],
    ["state", { x: 1 }, /^x: is not allowed$/],
    ["nope", {}, /^unknown query "nope"/],
  ])("rejects %s %j", (op, body, message) => {
    const r = decodeQuery(op, bytes(body));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe("invalid_request");
      expect(r.message).toMatch(message);
    }
  });
});

describe("output schemas", () => {
  it("accept the contract's shapes and reject wrong ones", () => {
    expect(
      outputValidators.rankChange({
        seq: 42,
        playerId: "p-17",
        score: 120,
        rank: 3,
        previousRank: 5,
        players: 1000,
      }),
    ).toBe(true);
    expect(
      outputValidators.rankChange({ seq: 42, playerId: "p-17", score: 120, rank: 3, previousRank: 5 }),
    ).toBe(false);
    expect(
      outputValidators.rejection({
        seq: 7,
        eventId: null,
        type: null,
        code: "invalid_event",
        message: "not valid JSON",
      }),
    ).toBe(true);
    expect(outputValidators.rejection({ seq: 7, eventId: "e", type: "X", code: "nope", message: "m" })).toBe(
      false,
    );
    expect(outputValidators.top({ seq: 1, entries: [{ rank: 1, playerId: "p", score: 5 }] })).toBe(true);
    expect(outputValidators.topReply({ seq: 1, entries: [], next: "opaque" })).toBe(true);
    expect(outputValidators.rankReply({ seq: 1, rank: 0, score: 0 })).toBe(true);
    expect(outputValidators.aroundReply({ seq: 1, entries: [{ rank: 1, playerId: "p", score: -5 }] })).toBe(
      true,
    );
    const checkpoint = {
      seq: 10,
      events: 10,
      stateHash: "a".repeat(64),
      prev: "0".repeat(64),
      chain: "b".repeat(64),
    };
    expect(
      outputValidators.stateReply({
        seq: 1,
        status: "running",
        players: 3,
        teams: 0,
        stateHash: "ab12",
        frozenAt: null,
        runningMs: 0,
        checkpoint: null,
      }),
    ).toBe(true);
    expect(
      outputValidators.stateReply({
        seq: 10,
        status: "ended",
        players: 3,
        teams: 0,
        stateHash: "ab12",
        frozenAt: 7,
        runningMs: 1500,
        checkpoint,
      }),
    ).toBe(true);
    const publicState = { seq: 9, status: "paused", players: 2, teams: 0, frozenAt: 7, runningMs: 900 };
    expect(outputValidators.publicStateReply(publicState)).toBe(true);
    // frozenAt is always there: null when the standings are not frozen.
    expect(outputValidators.publicStateReply({ ...publicState, frozenAt: undefined })).toBe(false);
    expect(
      outputValidators.stateReply({
        seq: 1,
        status: "running",
        players: 3,
        stateHash: "ab12",
        checkpoint: null,
      }),
    ).toBe(false);
    expect(
      outputValidators.stateReply({
        seq: 1,
        status: "sleeping",
        players: 3,
        teams: 0,
        stateHash: "ab12",
        frozenAt: null,
        runningMs: 0,
        checkpoint: null,
      }),
    ).toBe(false);
    expect(outputValidators.checkpoint(checkpoint)).toBe(true);
    const signed = { ...checkpoint, sig: `${"A".repeat(86)}==`, key: `${"B".repeat(43)}=` };
    expect(outputValidators.checkpoint(signed)).toBe(true);
    expect(outputValidators.checkpoint({ ...signed, key: undefined })).toBe(false);
    expect(outputValidators.checkpoint({ ...checkpoint, chain: "B".repeat(64) })).toBe(false);
    expect(outputValidators.errorReply({ error: { code: "invalid_request", message: "n: must be" } })).toBe(
      true,
    );
  });

  it("accept the team board's shapes", () => {
    const change = { seq: 9, teamId: "red", score: 30, rank: 1, previousRank: 2, teams: 3 };
    expect(outputValidators.teamRankChange(change)).toBe(true);
    expect(outputValidators.teamRankChange({ ...change, playerId: "p" })).toBe(false);
    expect(outputValidators.teamsTop({ seq: 1, entries: [{ rank: 1, teamId: "red", score: 5 }] })).toBe(true);
    expect(outputValidators.teamsTop({ seq: 1, entries: [{ rank: 1, playerId: "p", score: 5 }] })).toBe(
      false,
    );
    expect(outputValidators.topReply({ seq: 1, entries: [{ rank: 1, teamId: "red", score: 5 }] })).toBe(true);
    expect(outputValidators.aroundReply({ seq: 1, entries: [{ rank: 2, teamId: "b", score: 0 }] })).toBe(
      true,
    );
    const common = { seq: 1, status: "running", players: 3, teams: 2, frozenAt: null, runningMs: 10 };
    expect(outputValidators.stateReply({ ...common, stateHash: "ab12", checkpoint: null })).toBe(true);
    expect(outputValidators.publicStateReply(common)).toBe(true);
    expect(outputValidators.publicStateReply({ ...common, teams: undefined })).toBe(false);
  });

  it("list the rejection codes of the contract", () => {
    expect(REJECTION_CODES).toEqual([
      "invalid_event",
      "finalized",
      "invalid_state",
      "not_team_hunt",
      "team_exists",
      "time_up",
      "disqualified",
      "already_joined",
      "player_left",
      "hunt_full",
      "unknown_player",
      "unknown_team",
      "team_full",
      "unknown_treasure",
      "needs_review",
      "no_review",
      "submission_exists",
      "already_found",
      "not_open",
      "closed",
      "locked",
      "too_far",
      "wrong_answer",
      "already_hinted",
      "already_pending",
      "unknown_submission",
      "already_reviewed",
    ]);
  });
});
