// fast-check arbitraries for hunt logs: random valid and invalid inputs over a small universe of
// players and treasures, so that every rule and rejection code is reached. `inputArb` and `logArb` stay
// within version 1; `logArbV2` adds the solo part of version 2 (reviews and the standings freeze included),
// with times chosen to land on its edges; `logArbTeams` plays the same in team hunts.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { expect } from "vitest";
import { answer, HuntFold } from "../../actors/index.ts";
import { createRankIndex, type RankIndexKind } from "../../native/index.ts";
import { CollectingSink, log } from "./hunt-log.ts";
import { defaultTime, distanceM, HuntModel, type ModelInput } from "./hunt-model.ts";

const PLAYERS = ["a", "b", "c", "d", "é", "\u{1F600}", "p-7"];
const TREASURES = ["t1", "t2", "t3"];
const ANSWER_SHA = createHash("sha256").update("ans", "utf8").digest("hex");

const player = fc.constantFrom(...PLAYERS);
const treasure = fc.constantFrom(...TREASURES, "t-missing");
let counter = 0;
const id = () => `ev-${++counter}`;

export const inputArb: fc.Arbitrary<ModelInput> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc
      .record({
        treasures: fc.uniqueArray(
          fc.record({
            id: fc.constantFrom(...TREASURES),
            points: fc.integer({ min: 0, max: 20 }),
            withAnswer: fc.boolean(),
          }),
          { minLength: 1, maxLength: 3, selector: (t) => t.id },
        ),
        bonus: fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 3 }),
        hintPenalty: fc.integer({ min: 0, max: 4 }),
        maxPlayers: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
      })
      .map(
        (r): ModelInput => ({
          kind: "event",
          event: {
            id: id(),
            type: "HuntCreated",
            data: {
              title: "prop",
              treasures: r.treasures.map((t) =>
                t.withAnswer
                  ? { id: t.id, points: t.points, answerSha256: ANSWER_SHA }
                  : { id: t.id, points: t.points },
              ),
              rules: { firstFinderBonus: r.bonus, hintPenalty: r.hintPenalty, maxPlayers: r.maxPlayers },
            },
          },
        }),
      ),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom("HuntStarted", "HuntPaused", "HuntResumed", "HuntEnded")
      .map((type): ModelInput => ({ kind: "event", event: { id: id(), type } })),
  },
  {
    weight: 6,
    arbitrary: player.map(
      (playerId): ModelInput => ({
        kind: "event",
        event: { id: id(), type: "PlayerJoined", data: { playerId } },
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: player.map(
      (playerId): ModelInput => ({
        kind: "event",
        event: { id: id(), type: "PlayerLeft", data: { playerId } },
      }),
    ),
  },
  {
    weight: 6,
    arbitrary: fc.tuple(player, treasure, fc.constantFrom(undefined, "ans", "nope")).map(
      ([playerId, treasureId, answer]): ModelInput => ({
        kind: "event",
        event: {
          id: id(),
          type: "TreasureFound",
          data: answer === undefined ? { playerId, treasureId } : { playerId, treasureId, answer },
        },
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(player, treasure).map(
      ([playerId, treasureId]): ModelInput => ({
        kind: "event",
        event: { id: id(), type: "HintTaken", data: { playerId, treasureId } },
      }),
    ),
  },
  {
    weight: 4,
    arbitrary: fc.tuple(player, fc.integer({ min: -15, max: 15 })).map(
      ([playerId, delta]): ModelInput => ({
        kind: "event",
        event: { id: id(), type: "ScoreAdjusted", data: { playerId, delta, reason: "prop" } },
      }),
    ),
  },
  { weight: 1, arbitrary: fc.constant<ModelInput>({ kind: "invalid", eventId: null, type: null }) },
);

/** A log that starts a hunt most of the time, so that the interesting rules are reached. */
export const logArb = fc
  .tuple(fc.boolean(), fc.array(inputArb, { minLength: 0, maxLength: 120 }))
  .map(([start, rest]) => {
    if (!start) return rest;
    const create: ModelInput = {
      kind: "event",
      event: {
        id: id(),
        type: "HuntCreated",
        data: {
          title: "p",
          treasures: TREASURES.map((t, i) => ({
            id: t,
            points: i * 5,
            ...(i === 2 ? { answerSha256: ANSWER_SHA } : {}),
          })),
          rules: { firstFinderBonus: [3, 1], hintPenalty: 2 },
        },
      },
    };
    return [create, { kind: "event", event: { id: id(), type: "HuntStarted" } } as ModelInput, ...rest];
  });

/** Log messages for the inputs, each at the input's own time when it has one. */
export function encode(inputs: ModelInput[]) {
  const msgs = log(
    inputs.map((i) =>
      i.kind === "invalid" ? "\u0000garbage{" : { specversion: "1.0", source: "prop", ...i.event },
    ),
  );
  return msgs.map((m, i) => {
    const time = inputs[i]!.time;
    return time === undefined ? m : { ...m, time };
  });
}

// Version 2, solo hunts. Events are drafted first, each with a gap before it and, for a find, where it is
// reported relative to the treasure; `resolveDrafts` then walks the log with the model to turn gaps into
// times (some land exactly on a window, decay step or duration edge of running time) and places into
// coordinates (inside, outside, or a millimetre either side of the radius, never ambiguously close to it).

/** Time before an event: a number of ms (negative now and then: JetStream times are not promised to grow), or a jump to an edge of running time. */
type Gap = { kind: "ms"; ms: number } | { kind: "edge"; pick: number; offset: number };
/** Where a find is reported, relative to the treasure's location and radius. */
interface Where {
  at: "centre" | "inside" | "edge-in" | "edge-out" | "outside";
  percent: number;
  bearingDeg: number;
}
interface Draft {
  input: ModelInput;
  gap: Gap;
  where?: Where | undefined;
  /**
   * For a submission or a review: aim it at what the hunt has when it arrives (a fresh id, a joined
   * player and a review treasure; a pending submission), picking the `aim`-th; otherwise it is sent as drawn.
   */
  aim?: number | undefined;
}

const CENTRES = [
  { lat: 48.8566, lon: 2.3522 },
  { lat: -33.8568, lon: 151.2153 },
  // Far north, where a degree of longitude is short.
  { lat: 78.2232, lon: 15.6267 },
  { lat: 0, lon: 0 },
  { lat: 61.2176, lon: -149.8997 },
];
const RADII = [0.75, 3, 7.5, 25, 150];
/** How far a find "at the edge" is from it: far above the micrometre within which clients may disagree. */
const EDGE_MARGIN_M = 0.001;
const BY = ["org-1", "référent", "\u{1F9ED}"];
const HUGE = Number.MAX_SAFE_INTEGER;
/** A treasure id, of the hunt more often than for version 1, since finds have more to get through. */
const treasureV2 = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...TREASURES) },
  { weight: 1, arbitrary: fc.constant("t-missing") },
);

/** Submission ids: few, so that ids are reused (`submission_exists`) and reviews name real ones. */
const submissionIdArb = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom("s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8") },
  { weight: 1, arbitrary: fc.constant("s-missing") },
);

/** `arb` with weight `present`, otherwise undefined with weight `absent`. */
function sometimes<T>(arb: fc.Arbitrary<T>, present = 1, absent = 1): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: absent, arbitrary: fc.constant(undefined) }, { weight: present, arbitrary: arb });
}

/** A data object without the keys whose value is undefined. */
function defined(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined));
}

function eventDraft(type: string, data?: Record<string, unknown>): ModelInput {
  const event =
    data === undefined || Object.keys(data).length === 0 ? { id: id(), type } : { id: id(), type, data };
  return { kind: "event", event };
}

const treasureV2Arb = fc.record({
  points: fc.oneof(
    { weight: 30, arbitrary: fc.integer({ min: 0, max: 40 }) },
    { weight: 1, arbitrary: fc.constant(HUGE) },
  ),
  withAnswer: fc.boolean(),
  /** Bit j: requires the j-th treasure listed before this one (so the chains have no cycle). */
  requiresMask: fc.nat({ max: 3 }),
  listEmptyRequires: fc.boolean(),
  opensAfterMs: sometimes(fc.integer({ min: 0, max: 30_000 }), 1, 2),
  closesAfterMs: sometimes(
    fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 1, max: 40_000 }).map((ms) => ({ relative: true, ms })) },
      // Sometimes before it opens: a treasure that is never open, which is still a valid hunt.
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 20_000 }).map((ms) => ({ relative: false, ms })) },
    ),
    1,
    2,
  ),
  decay: sometimes(
    fc.record({
      everyMs: fc.integer({ min: 1, max: 20_000 }),
      step: fc.integer({ min: 1, max: 10 }),
      min: fc.integer({ min: 0, max: 15 }),
    }),
    1,
    2,
  ),
  location: sometimes(
    fc.record({ centre: fc.constantFrom(...CENTRES), radiusM: fc.constantFrom(...RADII) }),
    2,
    3,
  ),
  review: fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constant(true) },
    { weight: 1, arbitrary: fc.constant(false) },
  ),
});

/** Requirements that HuntCreated must reject, to reach its `invalid_event` check. */
const badRequiresArb = fc.oneof(
  { weight: 24, arbitrary: fc.constant("none") },
  { weight: 1, arbitrary: fc.constantFrom("unknown", "not-in-hunt", "self", "cycle2", "cycle3") },
);

const huntCreatedV2Arb: fc.Arbitrary<ModelInput> = fc
  .record({
    // Which treasures, in which order (requirements point back along it); all three most of the time.
    ids: fc.oneof(
      { weight: 3, arbitrary: fc.shuffledSubarray(TREASURES, { minLength: 3 }) },
      { weight: 1, arbitrary: fc.shuffledSubarray(TREASURES, { minLength: 1 }) },
    ),
    fields: fc.tuple(treasureV2Arb, treasureV2Arb, treasureV2Arb),
    bad: badRequiresArb,
    bonus: fc.oneof(
      { weight: 12, arbitrary: fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 3 }) },
      { weight: 1, arbitrary: fc.constant([HUGE]) },
    ),
    hintPenalty: fc.integer({ min: -2, max: 4 }),
    maxPlayers: sometimes(fc.integer({ min: 1, max: 5 }), 1, 3),
    durationMs: sometimes(fc.integer({ min: 1, max: 600_000 }), 1, 2),
  })
  .map((r) => {
    const list = r.ids.map((id, i) => ({ id, ...r.fields[i]! }));
    const requires = list.map((t, i) =>
      list
        .slice(0, i)
        .filter((_, j) => (t.requiresMask >> j) & 1)
        .map((u) => u.id),
    );
    const add = (i: number, treasureId: string) => {
      if (!requires[i]!.includes(treasureId)) requires[i]!.push(treasureId);
    };
    const absent = TREASURES.find((t) => !list.some((u) => u.id === t)) ?? "t-missing";
    if (r.bad === "unknown") add(list.length - 1, "t-missing");
    if (r.bad === "not-in-hunt") add(0, absent);
    // A cycle through the first k treasures, each requiring the one before; k = 1 is a treasure requiring itself.
    const k = Math.min(
      list.length,
      { none: 0, unknown: 0, "not-in-hunt": 0, self: 1, cycle2: 2, cycle3: 3 }[r.bad]!,
    );
    for (let i = 0; i < k; i++) add(i, list[(i + k - 1) % k]!.id);
    const treasures = list.map((t, i) => {
      const opens = t.opensAfterMs;
      const closes =
        t.closesAfterMs &&
        (t.closesAfterMs.relative ? (opens ?? 0) + t.closesAfterMs.ms : t.closesAfterMs.ms);
      return defined({
        id: t.id,
        points: t.points,
        answerSha256: t.withAnswer ? ANSWER_SHA : undefined,
        requires: requires[i]!.length > 0 || t.listEmptyRequires ? requires[i] : undefined,
        opensAfterMs: opens,
        closesAfterMs: closes,
        decay: t.decay,
        location: t.location && { ...t.location.centre, radiusM: t.location.radiusM },
        review: t.review,
      });
    });
    const rules = defined({
      firstFinderBonus: r.bonus,
      hintPenalty: r.hintPenalty,
      maxPlayers: r.maxPlayers,
      durationMs: r.durationMs,
    });
    return eventDraft("HuntCreated", { title: "prop v2", treasures, rules });
  });

/** A team hunt's HuntCreated: a version 2 one with `rules.teams`, sometimes with a team size limit. */
const huntCreatedTeamsArb: fc.Arbitrary<ModelInput> = fc
  .tuple(huntCreatedV2Arb, sometimes(fc.integer({ min: 1, max: 3 })))
  .map(([input, maxSize]) => {
    if (input.kind !== "event") return input;
    const data = input.event.data as { rules: Record<string, unknown> };
    const rules = { ...data.rules, teams: defined({ maxSize }) };
    return { ...input, event: { ...input.event, data: { ...data, rules } } };
  });

/** A status change; HuntEnded may give a reason and HuntFinalized who finalised. */
function lifecycleV2(type: string): fc.Arbitrary<{ input: ModelInput }> {
  return fc
    .record({
      reason: sometimes(fc.constantFrom("time_up", "organiser called it")),
      by: sometimes(fc.constantFrom(...BY)),
    })
    .map(({ reason, by }) => {
      const data = type === "HuntEnded" ? { reason } : type === "HuntFinalized" ? { by } : {};
      return { input: eventDraft(type, defined(data)) };
    });
}

const whereArb: fc.Arbitrary<Where> = fc.record({
  at: fc.oneof(
    { weight: 2, arbitrary: fc.constant("centre" as const) },
    { weight: 5, arbitrary: fc.constant("inside" as const) },
    { weight: 2, arbitrary: fc.constant("edge-in" as const) },
    { weight: 2, arbitrary: fc.constant("edge-out" as const) },
    { weight: 2, arbitrary: fc.constant("outside" as const) },
  ),
  percent: fc.integer({ min: 5, max: 95 }),
  bearingDeg: fc.oneof(fc.constantFrom(0, 90, 180, 270), fc.integer({ min: 0, max: 359 })),
});

const aimArb = sometimes(fc.nat(), 2, 1);

const eventV2Arb: fc.Arbitrary<Omit<Draft, "gap">> = fc.oneof(
  // A hunt ends about once in 150 events and is resumed soon after a pause, so most of a log runs.
  { weight: 2, arbitrary: huntCreatedV2Arb.map((input) => ({ input })) },
  { weight: 2, arbitrary: lifecycleV2("HuntStarted") },
  { weight: 2, arbitrary: lifecycleV2("HuntPaused") },
  { weight: 8, arbitrary: lifecycleV2("HuntResumed") },
  { weight: 1, arbitrary: lifecycleV2("HuntEnded") },
  { weight: 2, arbitrary: lifecycleV2("HuntFinalized") },
  // In a solo hunt: not_team_hunt.
  { weight: 1, arbitrary: fc.constant({ input: eventDraft("TeamCreated", { teamId: "red" }) }) },
  {
    weight: 10,
    arbitrary: fc
      .record({
        playerId: player,
        // A solo hunt ignores a teamId.
        teamId: sometimes(fc.constant("red"), 1, 5),
        name: sometimes(fc.constant("Ada")),
      })
      .map((data) => ({ input: eventDraft("PlayerJoined", defined(data)) })),
  },
  { weight: 2, arbitrary: player.map((playerId) => ({ input: eventDraft("PlayerLeft", { playerId }) })) },
  {
    weight: 60,
    arbitrary: fc
      .record({
        playerId: player,
        treasureId: treasureV2,
        answer: fc.constantFrom(undefined, "ans", "ans", "nope"),
        where: sometimes(whereArb, 3, 1),
      })
      .map(({ where, ...data }) => ({ input: eventDraft("TreasureFound", defined(data)), where })),
  },
  {
    weight: 8,
    arbitrary: fc
      .tuple(player, treasureV2)
      .map(([playerId, treasureId]) => ({ input: eventDraft("HintTaken", { playerId, treasureId }) })),
  },
  {
    weight: 12,
    arbitrary: fc
      .record({
        names: fc.oneof(
          { weight: 12, arbitrary: fc.constant("player") },
          { weight: 1, arbitrary: fc.constantFrom("team", "both", "neither") },
        ),
        playerId: player,
        delta: fc.oneof(
          { weight: 20, arbitrary: fc.integer({ min: -15, max: 15 }) },
          { weight: 1, arbitrary: fc.constantFrom(HUGE, -HUGE) },
        ),
        by: sometimes(fc.constantFrom(...BY)),
      })
      .map(({ names, playerId, delta, by }) => {
        const who = {
          playerId: names === "player" || names === "both" ? playerId : undefined,
          teamId: names === "team" || names === "both" ? "red" : undefined,
        };
        return { input: eventDraft("ScoreAdjusted", defined({ ...who, delta, reason: "prop", by })) };
      }),
  },
  {
    weight: 3,
    arbitrary: fc
      .record({
        playerId: player,
        reason: fc.constantFrom("cheating", "left the area", "\u{1F6AB} rules"),
        by: sometimes(fc.constantFrom(...BY)),
      })
      .map((data) => ({ input: eventDraft("PlayerDisqualified", defined(data)) })),
  },
  {
    weight: 20,
    arbitrary: fc
      .record({
        submissionId: submissionIdArb,
        playerId: player,
        treasureId: treasureV2,
        evidence: sometimes(fc.constantFrom("https://example.invalid/photo.jpg", "under the bridge")),
        where: sometimes(whereArb, 3, 1),
        aim: aimArb,
      })
      .map(({ where, aim, ...data }) => ({ input: eventDraft("SubmissionMade", defined(data)), where, aim })),
  },
  {
    weight: 14,
    arbitrary: fc
      .record({
        submissionId: submissionIdArb,
        approved: fc.oneof(
          { weight: 3, arbitrary: fc.constant(true) },
          { weight: 2, arbitrary: fc.constant(false) },
        ),
        reviewer: fc.constantFrom(...BY),
        points: sometimes(
          fc.oneof(
            { weight: 20, arbitrary: fc.integer({ min: 0, max: 30 }) },
            { weight: 1, arbitrary: fc.constant(HUGE) },
          ),
          1,
          2,
        ),
        reason: sometimes(fc.constantFrom("clear photo", "wrong statue")),
        aim: aimArb,
      })
      .map(({ aim, ...data }) => ({ input: eventDraft("SubmissionReviewed", defined(data)), aim })),
  },
  ...(["StandingsFrozen", "StandingsRevealed"] as const).map((type) => ({
    weight: 3,
    arbitrary: sometimes(fc.constantFrom(...BY)).map((by) => ({ input: eventDraft(type, defined({ by })) })),
  })),
  {
    weight: 2,
    arbitrary: fc.constant({ input: { kind: "invalid", eventId: null, type: null } as ModelInput }),
  },
);

const gapArb: fc.Arbitrary<Gap> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: "ms" as const, ms: 0 }) },
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 20 }).map((ms) => ({ kind: "ms" as const, ms })) },
  { weight: 12, arbitrary: fc.integer({ min: 21, max: 3000 }).map((ms) => ({ kind: "ms" as const, ms })) },
  { weight: 2, arbitrary: fc.integer({ min: 3001, max: 60_000 }).map((ms) => ({ kind: "ms" as const, ms })) },
  { weight: 1, arbitrary: fc.integer({ min: -3000, max: -1 }).map((ms) => ({ kind: "ms" as const, ms })) },
  {
    weight: 6,
    arbitrary: fc
      .record({ pick: fc.nat({ max: 3 }), offset: fc.constantFrom(-1, 0, 0, 1) })
      .map((e) => ({ kind: "edge" as const, ...e })),
  },
);

const draftV2Arb: fc.Arbitrary<Draft> = fc.tuple(eventV2Arb, gapArb).map(([e, gap]) => ({ ...e, gap }));

/** Team ids: the ones team hunts create, and one they never do. */
const TEAMS = ["red", "blue", "grün"];
const teamId = fc.constantFrom(...TEAMS, "none");

/** The events of a team hunt: those of a solo one, and teams created, joined and adjusted. */
const eventTeamsArb: fc.Arbitrary<{ input: ModelInput; where?: Where | undefined }> = fc.oneof(
  { weight: 100, arbitrary: eventV2Arb },
  { weight: 2, arbitrary: huntCreatedTeamsArb.map((input) => ({ input })) },
  {
    weight: 3,
    arbitrary: fc
      .record({ teamId, name: sometimes(fc.constant("Les Rouges")) })
      .map((data) => ({ input: eventDraft("TeamCreated", defined(data)) })),
  },
  {
    weight: 10,
    arbitrary: fc
      .record({ playerId: player, teamId: sometimes(teamId, 12, 1) })
      .map((data) => ({ input: eventDraft("PlayerJoined", defined(data)) })),
  },
  {
    weight: 6,
    arbitrary: fc
      .record({
        teamId,
        delta: fc.oneof(
          { weight: 20, arbitrary: fc.integer({ min: -15, max: 15 }) },
          { weight: 1, arbitrary: fc.constantFrom(HUGE, -HUGE) },
        ),
        by: sometimes(fc.constantFrom(...BY)),
      })
      .map((data) => ({ input: eventDraft("ScoreAdjusted", defined({ ...data, reason: "prop" })) })),
  },
);

/** The running times ahead of `rt` at which some treasure changes: it opens or closes, or its points decay. */
function edgesAhead(model: HuntModel, rt: number): number[] {
  const edges = new Set<number>();
  for (const t of model.treasures.values()) {
    if (t.opensAfterMs !== null) edges.add(t.opensAfterMs);
    if (t.closesAfterMs !== null) edges.add(t.closesAfterMs);
    if (t.decay !== null) {
      const step = Math.ceil(rt / t.decay.everyMs) * t.decay.everyMs;
      edges.add(step);
      edges.add(step + t.decay.everyMs);
    }
  }
  return [...edges].filter((e) => e >= rt).sort((a, b) => a - b);
}

/** The time of the next event: `now` plus the gap, or the time at which the running time reaches an edge. */
function nextTime(model: HuntModel, now: number, gap: Gap): number {
  if (gap.kind === "ms") return now + gap.ms;
  if (model.status !== "running") return now;
  const rt = model.runningTime(now);
  // The duration's edge is picked less often than the others: past it, the hunt has little left to test.
  const duration = model.durationMs !== null && model.durationMs >= rt ? model.durationMs : null;
  const edges = edgesAhead(model, rt);
  if (gap.pick === 3 && duration !== null)
    return Math.max(now, model.spanStart + (duration - model.closedRunningMs) + gap.offset);
  if (edges.length === 0) return now;
  const edge = edges[gap.pick % edges.length]!;
  return Math.max(now, model.spanStart + (edge - model.closedRunningMs) + gap.offset);
}

/** A point where a find of `treasureId` is reported; unambiguously inside or outside the radius. */
function place(model: HuntModel, treasureId: string, where: Where): { lat: number; lon: number } {
  const centre = model.treasures.get(treasureId)?.location ?? { ...CENTRES[0]!, radiusM: 25 };
  const r = centre.radiusM;
  const dist = {
    centre: 0,
    inside: (r * where.percent) / 100,
    "edge-in": r - EDGE_MARGIN_M,
    "edge-out": r + EDGE_MARGIN_M,
    outside: r * (1 + where.percent / 10),
  }[where.at];
  const rad = Math.PI / 180;
  const bearing = where.bearingDeg * rad;
  const angle = dist / 6_371_008.8;
  const lat = centre.lat + (angle * Math.cos(bearing)) / rad;
  // Longitude is solved at the mean latitude the distance formula uses, so the point lands where meant.
  const meanLat = ((centre.lat + lat) * rad) / 2;
  const lon = centre.lon + (angle * Math.sin(bearing)) / Math.cos(meanLat) / rad;
  const point = { lat, lon };
  const inside = where.at === "centre" || where.at === "inside" || where.at === "edge-in";
  const d = distanceM(centre, point);
  if (inside ? d > r - EDGE_MARGIN_M / 2 : d < r + EDGE_MARGIN_M / 2) {
    throw new Error(`find placed ambiguously: ${d} m for radius ${r} m`);
  }
  return point;
}

/** A submission aimed at a joined player and a review treasure under a fresh id, or a review at a (pending) submission. */
function aimAt(model: HuntModel, input: ModelInput & { kind: "event" }, aim: number, i: number): ModelInput {
  const pick = <T>(xs: T[]): T | undefined => xs[aim % Math.max(1, xs.length)];
  const data = { ...input.event.data };
  if (input.event.type === "SubmissionMade") {
    data.submissionId = `s-${i}`;
    data.playerId =
      pick([...model.players.values()].filter((p) => p.joined).map((p) => p.id)) ?? data.playerId;
    data.treasureId =
      pick([...model.treasures].filter(([, t]) => t.review).map(([id]) => id)) ?? data.treasureId;
  } else {
    // Now and then one that is no longer pending: reviewed, or closed when its player left.
    const pending = aim % 3 !== 0;
    const ids = [...model.submissions]
      .filter(([, s]) => pending === (s.state === "pending"))
      .map(([id]) => id);
    data.submissionId = pick(ids) ?? data.submissionId;
  }
  return { ...input, event: { ...input.event, data } };
}

/** Turns drafts into inputs: times from gaps and places from `where`, judged against the hunt so far. */
function resolveDrafts(drafts: Draft[]): ModelInput[] {
  const model = new HuntModel();
  let now = defaultTime(0);
  return drafts.map((draft, i) => {
    now = nextTime(model, now, draft.gap);
    let input: ModelInput = { ...draft.input, time: now };
    if (draft.aim !== undefined && input.kind === "event") input = aimAt(model, input, draft.aim, i);
    if (draft.where && input.kind === "event") {
      const data = input.event.data as { treasureId: string };
      const location = place(model, data.treasureId, draft.where);
      input = { ...input, event: { ...input.event, data: { ...data, location } } };
    }
    model.apply(i + 1, input);
    return input;
  });
}

/** A version 2 solo log that, most of the time, creates a hunt with random v2 rules, starts it and lets some players join. */
export const logArbV2: fc.Arbitrary<ModelInput[]> = fc
  .tuple(
    fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    huntCreatedV2Arb,
    gapArb,
    gapArb,
    fc.shuffledSubarray(PLAYERS, { minLength: 3 }),
    fc.array(draftV2Arb, { minLength: 0, maxLength: 150, size: "large" }),
  )
  .map(([start, create, g1, g2, joining, rest]) => {
    const head: Draft[] = start
      ? [
          { input: create, gap: g1 },
          { input: eventDraft("HuntStarted"), gap: g2 },
          ...joining.map((playerId) => ({ input: eventDraft("PlayerJoined", { playerId }), gap: g2 })),
        ]
      : [];
    return resolveDrafts([...head, ...rest]);
  });

/**
 * A version 2 team-hunt log that, most of the time, creates a team hunt, starts it, creates two or
 * three teams and lets some players join them.
 */
export const logArbTeams: fc.Arbitrary<ModelInput[]> = fc
  .tuple(
    fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    huntCreatedTeamsArb,
    gapArb,
    fc.shuffledSubarray(TEAMS, { minLength: 2 }),
    fc.array(fc.tuple(player, fc.nat({ max: 2 })), { minLength: 3, maxLength: PLAYERS.length }),
    fc.array(fc.tuple(eventTeamsArb, gapArb), { minLength: 0, maxLength: 150, size: "large" }),
  )
  .map(([start, create, gap, teams, joins, rest]) => {
    const at = (input: ModelInput): Draft => ({ input, gap });
    const head: Draft[] = start
      ? [
          at(create),
          at(eventDraft("HuntStarted")),
          ...teams.map((t) => at(eventDraft("TeamCreated", { teamId: t }))),
          ...joins.map(([playerId, k]) =>
            at(eventDraft("PlayerJoined", { playerId, teamId: teams[k % teams.length]! })),
          ),
        ]
      : [];
    return resolveDrafts([...head, ...rest.map(([e, g]) => ({ ...e, gap: g }))]);
  });

/**
 * Inputs of a team hunt that read no time (for a log published to a real server, whose times are its
 * own): teams created, joined, left, adjusted; finds, hints and disqualifications.
 */
export const teamInputArb: fc.Arbitrary<ModelInput> = fc.oneof(
  { weight: 1, arbitrary: teamId.map((t) => eventDraft("TeamCreated", { teamId: t })) },
  {
    weight: 3,
    arbitrary: fc
      .record({ playerId: player, teamId: sometimes(teamId, 12, 1) })
      .map((data) => eventDraft("PlayerJoined", defined(data))),
  },
  { weight: 1, arbitrary: player.map((playerId) => eventDraft("PlayerLeft", { playerId })) },
  {
    weight: 6,
    arbitrary: fc
      .record({ playerId: player, treasureId: treasureV2, answer: fc.constantFrom(undefined, "ans", "nope") })
      .map((data) => eventDraft("TreasureFound", defined(data))),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(player, treasureV2)
      .map(([playerId, treasureId]) => eventDraft("HintTaken", { playerId, treasureId })),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.boolean(), player, teamId, fc.integer({ min: -9, max: 9 }))
      .map(([toTeam, playerId, t, delta]) =>
        eventDraft("ScoreAdjusted", { ...(toTeam ? { teamId: t } : { playerId }), delta, reason: "it" }),
      ),
  },
  {
    weight: 1,
    arbitrary: player.map((playerId) => eventDraft("PlayerDisqualified", { playerId, reason: "it" })),
  },
);

/**
 * Folds a log in batches of `batch` and checks the fold against the reference model: the same
 * outputs (messages aside), and after every batch the same live and public standings, status and seq.
 */
export function expectFoldLikeModel(inputs: ModelInput[], kind: RankIndexKind, batch: number): void {
  const model = new HuntModel();
  const fold = new HuntFold("h", createRankIndex(kind));
  const sink = new CollectingSink();
  const msgs = encode(inputs);
  for (let i = 0; i < msgs.length; i += batch) {
    const end = Math.min(i + batch, msgs.length);
    for (let j = i; j < end; j++) model.apply(j + 1, inputs[j]!);
    fold.applyBatch(msgs.slice(i, end), sink);
    expectStandingsLikeModel(fold, model);
  }
  expect(sink.outputs.map(({ message, ...o }) => o)).toEqual(model.outputs);
  expect(fold.seq).toBe(inputs.length);
}

/** The live board, the public answers (top, rank, state) and the status of the fold are the model's. */
export function expectStandingsLikeModel(fold: HuntFold, model: HuntModel): void {
  expect(fold.index.top(100).map((e) => [e.playerId, e.score])).toEqual(
    model.leaderboard().map((p) => [p.id, p.score]),
  );
  expect(fold.teamIndex?.top(100).map((e) => [e.playerId, e.score]) ?? []).toEqual(
    model.teamBoard().map((t) => [t.id, t.score]),
  );
  expect(fold.status).toBe(model.status);
  const seq = fold.seq;
  expect(answer(fold, "top", { n: 100 }, "public")).toEqual({ seq, entries: model.publicBoard() });
  for (const playerId of PLAYERS) {
    expect(answer(fold, "rank", { playerId }, "public"), `public rank of ${playerId}`).toEqual({
      seq,
      ...model.publicRank(playerId),
    });
  }
  const frozenAt = model.frozen?.seq ?? null;
  expect(answer(fold, "state", {}, "public")).toEqual({
    seq,
    status: model.status,
    players: model.publicBoard().length,
    teams: model.publicTeams(),
    frozenAt,
    runningMs: model.runningMs,
  });
  expect(fold.frozen?.seq ?? null).toBe(frozenAt);
}
