// `cairn audit`: folds a hunt's log locally and prints a competitor's statement (every ledger entry
// with its input) or, without a competitor, the hunt's report (the organisers' actions, the rejections,
// the standings, whether the result is final, and its stateHash).
import { writeFileSync } from "node:fs";
import { jetstreamManager } from "@nats-io/jetstream";
import {
  auditHunt,
  type Competitor,
  type HuntAudit,
  type HuntReport,
  ledgerShortcut,
} from "../../actors/index.ts";
import type { ErrorReply, LedgerEntry } from "../../schemas/index.ts";
import { EVENTS_STREAM } from "../../streams/index.ts";
import {
  type Command,
  choiceFlag,
  huntFlag,
  LOG_FOLD_FLAGS,
  logFoldFlags,
  NATS_FLAGS,
  NATS_FLAGS_USAGE,
  noEventsError,
  parseFlags,
  RuntimeError,
  requireStream,
  UsageError,
  withConnection,
} from "../cli.ts";

const FLAGS = {
  ...NATS_FLAGS,
  hunt: { type: "string" },
  player: { type: "string" },
  team: { type: "string" },
  format: { type: "string" },
  out: { type: "string" },
  ...LOG_FOLD_FLAGS,
} as const;

type Format = "text" | "json" | "csv";

export const command: Command = {
  summary: "a competitor's statement (--player/--team) or the hunt's report, folded from its log",
  usage: [
    "usage: cairn audit --hunt ID [--player P | --team T] [--format text|json|csv] [--out FILE] [--until-seq N] [flags]",
    "",
    "Folds hunt.<ID>.events from the first event, locally (no engine needed), and prints:",
    "  with --player or --team  the competitor's statement: every ledger entry (each rank message but the",
    "                           join) with its input: type, treasure, by, reason, time (UTC), running time",
    "  without                  the hunt's report: every organisers' action (ScoreAdjusted, SubmissionReviewed,",
    "                           PlayerDisqualified, StandingsFrozen/Revealed, HuntEnded, HuntFinalized) with",
    "                           by, reason and whether it was applied or rejected; the rejections by code;",
    "                           the top of the board; whether the hunt is final; its stateHash",
    "",
    "  --hunt ID        the hunt (required)",
    "  --player P       the statement of player P",
    "  --team T         the statement of team T (a team hunt's)",
    "  --format F       text (default), json, or csv (the statement's entries, or the report's actions)",
    "  --out FILE       write there instead of stdout",
    "  --until-seq N    stop after stream sequence N (default: the end of the log)",
    "  --top N          rows of the board in the report (default 10)",
    "  --index KIND     rank index of the fold: auto, native or js (default auto)",
    "  --partitions N   read the subject the server's partition mapping gives with N partitions (0:",
    "                   hunt.<ID>.events) instead of finding it",
    NATS_FLAGS_USAGE,
  ].join("\n"),
  async run(argv) {
    const { values } = parseFlags("audit", argv, FLAGS);
    const huntId = huntFlag("audit", values.hunt);
    if (values.player !== undefined && values.team !== undefined) {
      throw new UsageError(
        "--player and --team cannot be given together",
        "give one competitor, or neither for the hunt's report",
      );
    }
    for (const name of ["player", "team", "out"] as const) {
      if (values[name] === "")
        throw new UsageError(`--${name} needs a value`, "run `cairn audit --help` for an example");
    }
    const competitor: Competitor | null =
      values.player !== undefined
        ? { playerId: values.player }
        : values.team !== undefined
          ? { teamId: values.team }
          : null;
    const format: Format = choiceFlag("format", values.format, ["text", "json", "csv"], "text");
    const { untilSeq, topN, indexKind: index, partitions } = logFoldFlags("audit", values);
    return withConnection("audit", values, async (nc) => {
      const jsm = await jetstreamManager(nc);
      await requireStream(nc, jsm, EVENTS_STREAM);
      const tty = process.stderr.isTTY === true;
      let lastLine = performance.now();
      const { audit, ms } = await auditHunt(nc, huntId, competitor, {
        untilSeq,
        partitions,
        indexKind: index,
        onProgress: (events, seq) => {
          const line = `auditing ${huntId}: ${events.toLocaleString("en-US")} events, seq ${seq}`;
          // On a terminal the line is redrawn; elsewhere a line every 5 s says it is alive.
          if (tty) process.stderr.write(`\r\x1b[2K${line}`);
          else if (performance.now() - lastLine > 5_000) {
            lastLine = performance.now();
            process.stderr.write(`${line}\n`);
          }
        },
      });
      if (tty) process.stderr.write("\r\x1b[2K");
      if (audit.events === 0) throw await noEventsError(nc, jsm, huntId, untilSeq, partitions);
      const fold = audit.ledger.fold;
      if (competitor) {
        const shortcut = ledgerShortcut(fold, competitor);
        if (shortcut && "error" in shortcut) {
          const { code, message } = (shortcut as ErrorReply).error;
          throw new RuntimeError(code, message, "give --player, or no competitor for the hunt's report");
        }
        if (shortcut) {
          throw new RuntimeError(
            "unknown_player",
            `player "${competitor.playerId}" never joined hunt "${huntId}" (up to seq ${fold.seq})`,
            "check the player id (ids are compared exactly), or run without --player for the hunt's report",
          );
        }
      }
      const text = competitor ? statement(audit, competitor, format) : report(audit.report(topN), format);
      if (values.out !== undefined) {
        writeFileSync(values.out, text);
        console.error(`wrote ${values.out}`);
      } else process.stdout.write(text);
      console.error(
        `audited ${audit.events.toLocaleString("en-US")} events of hunt ${huntId} in ${(ms / 1000).toFixed(2)} s (${Math.round(audit.events / (ms / 1000)).toLocaleString("en-US")} events/s)`,
      );
      return 0;
    });
  },
};

/** ISO-8601 UTC of a JetStream time. */
function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A running time as h:mm:ss.mmm. */
function running(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = ((ms % 60_000) / 1000).toFixed(3).padStart(6, "0");
  return `${h}:${String(m).padStart(2, "0")}:${s}`;
}

/** One CSV field, quoted when it needs to be (RFC 4180). */
function csvField(value: unknown): string {
  const s = value === undefined || value === null ? "" : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csv(header: string[], rows: unknown[][]): string {
  return `${[header, ...rows].map((r) => r.map(csvField).join(",")).join("\r\n")}\r\n`;
}

/** Rows as an aligned table, the last column left free. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

const ENTRY_COLUMNS = [
  "seq",
  "time",
  "runningMs",
  "type",
  "eventId",
  "delta",
  "score",
  "rank",
  "treasureId",
  "submissionId",
  "by",
  "reason",
];

function statement(audit: HuntAudit, competitor: Competitor, format: Format): string {
  const fold = audit.ledger.fold;
  const entries = audit.entries;
  const who =
    competitor.playerId !== undefined ? { playerId: competitor.playerId } : { teamId: competitor.teamId };
  if (format === "json") {
    return `${JSON.stringify({ huntId: fold.huntId, seq: fold.seq, status: fold.status, ...who, entries })}\n`;
  }
  if (format === "csv") {
    return csv(
      ENTRY_COLUMNS,
      entries.map((e) => ENTRY_COLUMNS.map((c) => (c === "time" ? iso(e.time) : e[c as keyof LedgerEntry]))),
    );
  }
  const name =
    competitor.playerId !== undefined ? `player ${competitor.playerId}` : `team ${competitor.teamId}`;
  const last = entries.at(-1);
  const lines = [
    `statement of ${name} in hunt ${fold.huntId}, at seq ${fold.seq} (${fold.status})`,
    last
      ? `score ${last.score}, rank ${last.rank === 0 ? "— (off the board)" : last.rank}`
      : "no score changes since joining: score 0",
    "",
    table(
      ["seq", "time (UTC)", "running", "type", "delta", "score", "rank", "treasure", "by", "reason / event"],
      entries.map((e) => [
        String(e.seq),
        iso(e.time),
        running(e.runningMs),
        e.type,
        e.delta > 0 ? `+${e.delta}` : String(e.delta),
        String(e.score),
        String(e.rank),
        e.treasureId ?? e.submissionId ?? "",
        e.by ?? "",
        e.reason !== undefined ? `${e.reason} (${e.eventId})` : e.eventId,
      ]),
    ),
    "",
    `${entries.length} ${entries.length === 1 ? "entry" : "entries"}`,
  ];
  return `${lines.join("\n")}\n`;
}

const ACTION_COLUMNS = [
  "seq",
  "time",
  "runningMs",
  "type",
  "eventId",
  "result",
  "code",
  "playerId",
  "teamId",
  "submissionId",
  "delta",
  "approved",
  "points",
  "by",
  "reason",
  "message",
];

function report(r: HuntReport, format: Format): string {
  if (format === "json") {
    // Checkpoints are published by engines that record them (hunt.<id>.checkpoints); this report does
    // not read them yet, and says so with null rather than an empty list.
    return `${JSON.stringify({ ...r, checkpoints: null })}\n`;
  }
  if (format === "csv") {
    return csv(
      ACTION_COLUMNS,
      r.actions.map((a) =>
        ACTION_COLUMNS.map((c) =>
          c === "time"
            ? iso(a.time)
            : c === "result"
              ? a.applied
                ? "applied"
                : "rejected"
              : a[c as keyof typeof a],
        ),
      ),
    );
  }
  const lines = [
    `report of hunt ${r.huntId} at seq ${r.seq}: ${r.status}, ${r.players} players ranked, ${r.events.toLocaleString("en-US")} inputs`,
    r.final
      ? "final: yes (finalized: the certified result, nothing can change it)"
      : `final: no (${r.status}; a HuntFinalized after the end certifies the result)`,
    `stateHash ${r.stateHash}`,
    "",
    `organisers' actions (${r.actions.length}):`,
    r.actions.length === 0
      ? "  none"
      : table(
          ["  seq", "time (UTC)", "running", "type", "result", "whom", "change", "by", "reason"],
          r.actions.map((a) => [
            `  ${a.seq}`,
            iso(a.time),
            running(a.runningMs),
            a.type,
            a.applied ? "applied" : `rejected ${a.code}`,
            a.playerId ?? a.teamId ?? a.submissionId ?? "",
            a.delta !== undefined
              ? a.delta > 0
                ? `+${a.delta}`
                : String(a.delta)
              : a.approved !== undefined
                ? a.approved
                  ? `approved${a.points !== undefined ? ` ${a.points}` : ""}`
                  : "declined"
                : "",
            a.by ?? "",
            a.reason ?? "",
          ]),
        ),
    "",
    `rejections: ${r.rejected}`,
    ...Object.entries(r.rejections).map(([code, n]) => `  ${code.padEnd(18)} ${n}`),
    "",
    `standings (top ${r.standings.length}):`,
    r.standings.length === 0
      ? "  nobody ranked"
      : table(
          ["  rank", "player", "score"],
          r.standings.map((e) => [`  ${e.rank}`, e.playerId, String(e.score)]),
        ),
    "",
    // Where the hunt's chained checkpoints will be listed once this report reads them.
    "checkpoints: not read by this report yet (an engine that records them publishes hunt.<id>.checkpoints)",
  ];
  return `${lines.join("\n")}\n`;
}
