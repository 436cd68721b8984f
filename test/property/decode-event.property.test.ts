// decodeEvent against the schema files themselves, compiled here by a validator of the test's own: for
// play events near every edge the schemas draw (lengths in code points around each limit, control
// characters, lone surrogates, non-ASCII ids, wrong types, absent fields), decodeEvent accepts exactly
// what the schemas accept, and returns the event as parsed. Most generated events are of the plain form
// that decodeEvent accepts without running its validators (isPlainPlay), so this holds that shortcut to
// the schemas; the rest go through the validators.
import Ajv2020 from "ajv/dist/2020.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import cloudEventSchema from "../../schemas/cloudevent.json" with { type: "json" };
import commonSchema from "../../schemas/common.json" with { type: "json" };
import hintTakenSchema from "../../schemas/events/hint-taken.json" with { type: "json" };
import scoreAdjustedSchema from "../../schemas/events/score-adjusted.json" with { type: "json" };
import treasureFoundSchema from "../../schemas/events/treasure-found.json" with { type: "json" };
import { decodeEvent, isPlainPlay } from "../../schemas/index.ts";

const ajv = new Ajv2020.default({ strict: true, allowUnionTypes: true });
for (const s of [commonSchema, cloudEventSchema, hintTakenSchema, scoreAdjustedSchema, treasureFoundSchema])
  ajv.addSchema(s);
const envelope = ajv.getSchema(cloudEventSchema.$id)!;
const dataOf: Record<string, ReturnType<typeof ajv.getSchema>> = {
  TreasureFound: ajv.getSchema(treasureFoundSchema.$id),
  HintTaken: ajv.getSchema(hintTakenSchema.$id),
  ScoreAdjusted: ajv.getSchema(scoreAdjustedSchema.$id),
};

/** What the schema files (and the contract's one rule beyond them, ScoreAdjusted's exactly-one) accept. */
function schemasAccept(raw: Record<string, unknown>): boolean {
  if (!envelope(raw)) return false;
  const data = dataOf[raw.type as string];
  if (!data?.(raw.data)) return false;
  if (raw.type === "ScoreAdjusted") {
    const d = raw.data as Record<string, unknown>;
    return (d.playerId === undefined) !== (d.teamId === undefined);
  }
  return true;
}

/** A string of exactly `n` code points drawn from `unit`'s characters. */
const ofCodePoints = (n: number, unit: fc.Arbitrary<string>) =>
  fc.array(unit, { minLength: n, maxLength: n }).map((cs) => cs.join(""));
const astral = fc.constantFrom("😀", "𝄞", "𠀋");
const bmp = fc.constantFrom("é", "ß", "中", "\u00a0", "\u2028");
const control = fc.constantFrom("\u0000", "\u001f", "\u007f", "\u0085", "\u009f", "\t", "\n");
const surrogate = fc.constantFrom("\ud800", "\udbff", "\udc00", "\udfff");
const ascii = fc.constantFrom("a", "Z", "0", "-", "_", " ", "~", '"', "\\", "/", ".");
const anyChar = fc.oneof(ascii, ascii, ascii, bmp, astral, control, surrogate);

/** Strings around a limit of `max` code points: just under, at, over, with astral characters (2 units each). */
function textAround(max: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(max - 1, max, max + 1).chain((n) => ofCodePoints(n, ascii)),
    fc
      .constantFrom(max / 2 - 1, max / 2, max / 2 + 1, max - 1, max, max + 1)
      .chain((n) => ofCodePoints(n, astral)),
    fc.integer({ min: 0, max: 12 }).chain((n) => ofCodePoints(n, anyChar)),
  );
}

/** Printable ASCII but for one character just outside it (DEL, US, the first C1 control, a Latin-1 letter). */
const asciiButOne = fc
  .tuple(
    fc.integer({ min: 0, max: 12 }).chain((n) => ofCodePoints(n, ascii)),
    fc.constantFrom("\u007f", "\u001f", "\u0080", "\u00ff"),
    fc.integer({ min: 0, max: 12 }).chain((n) => ofCodePoints(n, ascii)),
  )
  .map(([a, c, b]) => a + c + b);

/** Values of a field that should be an id (1 to 128 code points, no control characters or surrogates). */
const idLike = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 12 }).chain((n) => ofCodePoints(n, ascii)) },
  { weight: 1, arbitrary: asciiButOne },
  { weight: 3, arbitrary: textAround(128) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>("", undefined, null, 7, true, ["p"], { id: "p" }) },
);
const text = (max: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom<unknown>(undefined, "", "a reason") },
    { weight: 3, arbitrary: textAround(max) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(null, 0, false, {}, []) },
  );
const delta = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom<unknown>(
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 1,
    -Number.MAX_SAFE_INTEGER - 1,
    1.5,
    -0,
    "5",
    null,
    undefined,
  ),
);
const optionalAttribute = fc.oneof(
  { weight: 5, arbitrary: fc.constant<unknown>(undefined) },
  { weight: 2, arbitrary: fc.constantFrom<unknown>("2026-11-30T00:00:00Z", "", "application/json") },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, 3, {}, []) },
);

/** Mostly absent, else one of `values`. */
const sometimes = (values: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 4, arbitrary: fc.constant<unknown>(undefined) }, { weight: 1, arbitrary: values });

const play = fc
  .record({
    specversion: fc.oneof(
      { weight: 8, arbitrary: fc.constant<unknown>("1.0") },
      fc.constantFrom<unknown>("1.1", 1, undefined),
    ),
    id: idLike,
    source: fc.oneof(
      { weight: 6, arbitrary: fc.constant<unknown>("game-server") },
      { weight: 2, arbitrary: textAround(1024) },
      { weight: 1, arbitrary: fc.constantFrom<unknown>("", null, 1) },
    ),
    type: fc.constantFrom("TreasureFound", "HintTaken", "ScoreAdjusted"),
    time: optionalAttribute,
    datacontenttype: optionalAttribute,
    subject: optionalAttribute,
    dataschema: optionalAttribute,
    extension: fc.constantFrom<unknown>(undefined, "x", 1),
    data: fc.oneof(
      {
        weight: 12,
        arbitrary: fc.record({
          playerId: idLike,
          teamId: sometimes(idLike),
          treasureId: idLike,
          answer: text(1024),
          reason: text(1024),
          by: sometimes(text(256)),
          delta,
          location: sometimes(fc.constantFrom<unknown>({ lat: 1, lon: 2 }, { lat: 91, lon: 0 }, "here")),
        }),
      },
      { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, [], "data", 5) },
    ),
  })
  .map((r) => JSON.parse(JSON.stringify(r)) as Record<string, unknown>);

const encoder = new TextEncoder();

describe("decodeEvent against the schema files", () => {
  it("accepts a play event exactly when the schemas do, and never shortcuts one they refuse", () => {
    let plain = 0;
    let accepted = 0;
    fc.assert(
      fc.property(play, (raw) => {
        const bytes = encoder.encode(JSON.stringify(raw));
        const expected = schemasAccept(raw);
        if (isPlainPlay(structuredClone(raw))) {
          plain++;
          expect(expected).toBe(true);
        }
        const decoded = decodeEvent(bytes);
        expect(decoded.ok).toBe(expected);
        if (decoded.ok) {
          accepted++;
          expect(decoded.event).toEqual(raw);
        }
      }),
      { numRuns: 5000 },
    );
    // The generator reaches both paths, and both answers.
    expect(plain).toBeGreaterThan(200);
    expect(accepted).toBeGreaterThan(plain);
  });

  it("takes the plain path for the load generator's play events", () => {
    const events = [
      {
        specversion: "1.0",
        id: "h-1",
        source: "s",
        type: "TreasureFound",
        data: { playerId: "p-1", treasureId: "t-1" },
      },
      {
        specversion: "1.0",
        id: "h-2",
        source: "s",
        type: "HintTaken",
        data: { playerId: "p-1", treasureId: "t-2" },
      },
      {
        specversion: "1.0",
        id: "h-3",
        source: "s",
        type: "ScoreAdjusted",
        data: { playerId: "p-1", delta: -5, reason: "penalty" },
      },
    ];
    for (const e of events) expect(isPlainPlay(e)).toBe(true);
  });

  it("leaves ids at and past the edges of the plain form to the schemas", () => {
    const found = (playerId: string) => ({
      specversion: "1.0",
      id: "h-1",
      source: "s",
      type: "TreasureFound",
      data: { playerId, treasureId: "t-1" },
    });
    expect(isPlainPlay(found("p".repeat(128)))).toBe(true);
    expect(isPlainPlay(found(" ~"))).toBe(true);
    for (const id of ["p".repeat(129), "", "p\u007f", "p\u001f", "p\u0080", "pé", "p\ud800"]) {
      expect(isPlainPlay(found(id))).toBe(false);
    }
    // Of those, the schemas still accept the non-ASCII one, through the validators.
    expect(decodeEvent(encoder.encode(JSON.stringify(found("pé")))).ok).toBe(true);
    expect(decodeEvent(encoder.encode(JSON.stringify(found("p\u007f")))).ok).toBe(false);
  });
});
