// Shared by the end-to-end benchmarks: their common flags, aligned tables, number formats, goal lines, `--json [FILE]`
// and where `--chart FILE` (or `--json FILE`) puts the SVG chart.
import { writeFileSync } from "node:fs";
import type { ParseArgsConfig } from "node:util";
import { parseFlags, UsageError } from "../bin/flags.ts";

/** 12,345 */
export function fmtInt(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? "—" : Math.round(n).toLocaleString("en-US");
}

/** Milliseconds with sensible precision. */
export function fmtMs(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return "—";
  if (n >= 1000) return `${(n / 1000).toFixed(2)} s`;
  return `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms`;
}

/** Bytes as MB. */
export function fmtMB(bytes: number | undefined): string {
  return bytes === undefined || !Number.isFinite(bytes) ? "—" : `${(bytes / 2 ** 20).toFixed(0)} MB`;
}

/** A number with `digits` decimals. */
export function fmtNum(n: number | undefined, digits = 1): string {
  return n === undefined || !Number.isFinite(n) ? "—" : n.toFixed(digits);
}

/** An aligned text table: the first column left-aligned, the others right-aligned. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** One goal checked against a run. */
export interface GoalResult {
  goal: string;
  measured: string;
  /** true = met, false = missed, undefined = not measured in this run. */
  pass: boolean | undefined;
}

/** Goal lines: `PASS|FAIL|n/a  goal  (measured)`. */
export function goalLines(goals: GoalResult[]): string {
  const width = Math.max(...goals.map((g) => g.goal.length));
  return goals
    .map(
      (g) =>
        `${g.pass === undefined ? " n/a" : g.pass ? "PASS" : "FAIL"}  ${g.goal.padEnd(width)}  ${g.measured}`,
    )
    .join("\n");
}

/** The flags the e2e, replay and soak benchmarks take besides their own. */
const BENCH_FLAGS = {
  smoke: { type: "boolean", default: false },
  json: { type: "string" },
} as const;

/**
 * Parses the flags of benchmark `name`: its own `options` plus --smoke and --json [FILE], through the
 * CLI's parser, so a bad flag is a usage error (exit 2) like any other command's.
 */
export function parseBenchFlags<T extends NonNullable<ParseArgsConfig["options"]>>(
  name: string,
  argv: string[],
  options: T,
) {
  return parseFlags(`bench ${name}`, normaliseJsonFlag(argv), { ...BENCH_FLAGS, ...options }).values;
}

/**
 * `--json` takes an optional value: `--json FILE` writes there, a bare `--json` (or `--json -`) writes to
 * stdout. parseArgs needs a value, so a bare `--json` is rewritten to `--json=-` first.
 */
function normaliseJsonFlag(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a === "--json" && (next === undefined || next.startsWith("--"))) out.push("--json=-");
    else out.push(a);
  }
  return out;
}

/** Writes `data` as JSON to FILE, or to stdout for "-". */
export function writeJson(target: string, data: unknown): void {
  const text = `${JSON.stringify(data, null, 2)}\n`;
  if (target === "-") process.stdout.write(text);
  else {
    writeFileSync(target, text);
    console.log(`figures written to ${target}`);
  }
}

/**
 * Where the SVG chart goes: `--chart FILE`, else beside `--json FILE` (FILE with `.svg` for `.json`), else
 * nowhere (no flag, or the JSON on stdout).
 */
export function chartTarget(json: string | undefined, chart: string | undefined): string | undefined {
  if (chart === "-" || chart === "") {
    throw new UsageError("--chart needs a file to write the SVG to", "for example --chart soak.svg");
  }
  if (chart !== undefined) return chart;
  if (json === undefined || json === "-") return undefined;
  return `${json.endsWith(".json") ? json.slice(0, -".json".length) : json}.svg`;
}

/** Writes the SVG chart to `target`. */
export function writeChart(target: string, svg: string): void {
  writeFileSync(target, svg);
  console.log(`chart written to ${target}`);
}
