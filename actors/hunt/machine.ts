// The hunt lifecycle as an XState v5 machine: which event types each status accepts, and where
// lifecycle events lead. The fold consults it; it holds no scores and performs no side effects.
import { type SnapshotFrom, setup, transition } from "xstate";
import { HUNT_EVENT_TYPES, type HuntEventType } from "../../schemas/index.ts";

/** Every status a hunt can be in; `none` means no HuntCreated has been accepted yet. */
export const HUNT_STATUSES = ["none", "created", "running", "paused", "ended", "finalized"] as const;
export type HuntStatus = (typeof HUNT_STATUSES)[number];

/** Every input event type of the contract (from the schemas). */
export const EVENT_TYPES = HUNT_EVENT_TYPES;
export type EventType = HuntEventType;

// Player events are accepted in place (no target, a no-op action, since XState's `can` counts only
// transitions that do something): the machine says *whether* the status allows them; the fold's
// checks (joined, found, …) come after, in the order schemas/CONTRACT.md ("Events and their checks")
// lists them.
const stay = { actions: "accept" } as const;

/** The lifecycle: none → created → running ⇄ paused → ended → finalized (schemas/CONTRACT.md, "Statuses"). */
export const huntMachine = setup({
  types: {} as { events: { type: EventType } },
  actions: { accept: () => {} },
}).createMachine({
  id: "hunt",
  initial: "none",
  states: {
    none: {
      on: { HuntCreated: "created" },
    },
    created: {
      on: {
        HuntStarted: "running",
        TeamCreated: stay,
        PlayerJoined: stay,
        PlayerLeft: stay,
        ScoreAdjusted: stay,
        PlayerDisqualified: stay,
        StandingsRevealed: stay,
      },
    },
    running: {
      on: {
        HuntPaused: "paused",
        HuntEnded: "ended",
        TeamCreated: stay,
        PlayerJoined: stay,
        PlayerLeft: stay,
        TreasureFound: stay,
        HintTaken: stay,
        ScoreAdjusted: stay,
        PlayerDisqualified: stay,
        SubmissionMade: stay,
        SubmissionReviewed: stay,
        StandingsFrozen: stay,
        StandingsRevealed: stay,
      },
    },
    paused: {
      on: {
        HuntResumed: "running",
        HuntEnded: "ended",
        PlayerLeft: stay,
        ScoreAdjusted: stay,
        PlayerDisqualified: stay,
        SubmissionReviewed: stay,
        StandingsFrozen: stay,
        StandingsRevealed: stay,
      },
    },
    ended: {
      on: {
        HuntFinalized: "finalized",
        PlayerLeft: stay,
        ScoreAdjusted: stay,
        PlayerDisqualified: stay,
        SubmissionReviewed: stay,
        // A freeze may outlast the hunt: the reveal comes when the organisers choose.
        StandingsRevealed: stay,
      },
    },
    // A finalised hunt is the certified result: nothing changes it any more.
    finalized: {},
  },
});

type HuntSnapshot = SnapshotFrom<typeof huntMachine>;

function snapshotAt(status: HuntStatus): HuntSnapshot {
  return huntMachine.resolveState({ value: status, context: {} });
}

/** A frozen table of `f(snapshot at status, type)` for every status and event type, made once. */
function tableOf<T>(
  f: (snap: HuntSnapshot, type: EventType) => T,
): Readonly<Record<HuntStatus, Readonly<Record<EventType, T>>>> {
  return Object.freeze(
    Object.fromEntries(
      HUNT_STATUSES.map((status) => {
        const snap = snapshotAt(status);
        return [status, Object.freeze(Object.fromEntries(EVENT_TYPES.map((type) => [type, f(snap, type)])))];
      }),
    ) as Record<HuntStatus, Record<EventType, T>>,
  );
}

/**
 * `ACCEPTS[status][type]`: whether the machine takes that event in that status. Derived once from
 * the machine itself, so the per-event check on the hot path is a table lookup, not an XState call.
 */
export const ACCEPTS = tableOf((snap, type) => snap.can({ type }));

/**
 * `NEXT[status][type]`: the status XState's pure `transition` leads to from that status on an event
 * of that type (the same status for one it does not take, or takes in place). Derived once from the
 * machine, like `ACCEPTS`: the machine has no guards and no context, so the table is exact, and a
 * lifecycle event costs a lookup. Stepping the machine itself made an actor and a snapshot each
 * time, some 30 KB of garbage per event, which a platform creating thousands of hunts paid twice
 * for each.
 */
export const NEXT = tableOf((snap, type): HuntStatus => {
  const [next] = transition(huntMachine, snap, { type });
  // The statuses' own strings, so every hunt shares them.
  const to = HUNT_STATUSES.find((s) => s === next.value);
  if (to === undefined) throw new Error(`the lifecycle leads to an unknown status: ${String(next.value)}`);
  return to;
});
