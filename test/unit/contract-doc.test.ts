// schemas/CONTRACT.md, the contract written for Cairn's users, stays true where a machine can tell:
// its rejection codes, event sections, statuses, query ops, query limits and error codes match the
// schemas and the code, its closing list of departures names only codes the engine has, and no link leaves
// the repository.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { ACCEPTS, HUNT_STATUSES } from "../../actors/index.ts";
import {
  HUNT_EVENT_TYPES,
  MAX_EVENT_BYTES,
  MAX_HUNT_CREATED_BYTES,
  QUERY_OPS,
  REJECTION_CODES,
} from "../../schemas/index.ts";

const root = join(import.meta.dirname, "../..");
const docPath = join(root, "schemas/CONTRACT.md");
const doc = readFileSync(docPath, "utf8");

/** The heading of the closing part: where the engine departs from version 2 of the design. */
const V2_HEADING = /^# Version 2 — where this engine departs from it$/m;

function parts(): { served: string; v2: string } {
  const headings = doc.match(new RegExp(V2_HEADING.source, "gm")) ?? [];
  expect(headings, "exactly one version 2 heading").toHaveLength(1);
  const at = doc.search(V2_HEADING);
  return { served: doc.slice(0, at), v2: doc.slice(at) };
}

/** The body of the section whose heading (at `level` #s) contains `title`; fails if there is not exactly one. */
function section(text: string, level: number, title: string): string {
  const hashes = "#".repeat(level);
  const found = sections(text, level).filter((s) => s.title.includes(title));
  expect(
    found.map((s) => s.title),
    `one "${hashes} …${title}…" section`,
  ).toHaveLength(1);
  return found[0]!.body;
}

/** Every section at `level` #s: its heading text and its body up to the next heading of that level or above. */
function sections(text: string, level: number): { title: string; body: string }[] {
  const lines = text.split("\n");
  const out: { title: string; body: string }[] = [];
  let current: { title: string; body: string[] } | undefined;
  let inFence = false;
  for (const line of lines) {
    if (line.startsWith("```")) inFence = !inFence;
    const m = inFence ? null : /^(#+) (.*)$/.exec(line);
    if (m && m[1]!.length <= level) {
      if (current) out.push({ title: current.title, body: current.body.join("\n") });
      current = m[1]!.length === level ? { title: m[2]!, body: [] } : undefined;
    } else current?.body.push(line);
  }
  if (current) out.push({ title: current.title, body: current.body.join("\n") });
  return out;
}

/** The markdown tables of a text: header cells and row cells, trimmed (a `\|` is a pipe inside a cell). */
function tables(text: string): { header: string[]; rows: string[][] }[] {
  const out: { header: string[]; rows: string[][] }[] = [];
  const cells = (line: string) =>
    line
      .trim()
      .replace(/^\||\|$/g, "")
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
  let block: string[] = [];
  const flush = () => {
    if (block.length >= 2) out.push({ header: cells(block[0]!), rows: block.slice(2).map(cells) });
    block = [];
  };
  for (const line of text.split("\n")) {
    if (line.trim().startsWith("|")) block.push(line);
    else flush();
  }
  flush();
  return out;
}

/** The contents of every `code span`. */
function codeSpans(text: string): string[] {
  return [...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
}

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

describe("schemas/CONTRACT.md", () => {
  it("splits into the served part and a closing list of departures, announced at the top", () => {
    const { served, v2 } = parts();
    expect(served).toContain("# Part 1 — What this engine serves");
    expect(served.slice(0, 2000)).toContain("Version 2 — where this engine departs from it");
    expect(v2).toMatch(/All of contract version 2 is served/);
  });

  it("lists exactly the engine's rejection codes in the served part", () => {
    const table = tables(section(parts().served, 2, "Rejection codes"))[0];
    expect(table?.header[0]).toBe("code");
    const listed = table!.rows.map((r) => codeSpans(r[0]!)[0] ?? r[0]!);
    expect(sorted(listed)).toEqual(sorted(REJECTION_CODES));
    expect(listed).toHaveLength(REJECTION_CODES.length);
  });

  it("gives every check of the served part a code the engine has, and uses every code", () => {
    const checkTables = tables(parts().served).filter((t) => t.header.includes("rejected with"));
    expect(checkTables.length).toBeGreaterThan(HUNT_EVENT_TYPES.length);
    const used: string[] = [];
    for (const t of checkTables) {
      const col = t.header.indexOf("rejected with");
      for (const row of t.rows) {
        const codes = codeSpans(row[col] ?? "");
        expect(codes, `a code for check "${row.join(" | ")}"`).not.toEqual([]);
        used.push(...codes);
      }
    }
    for (const code of used) expect(REJECTION_CODES, `check code ${code}`).toContain(code);
    expect(sorted(used)).toEqual(sorted(REJECTION_CODES));
  });

  it("names no rejection code in its departures that the engine does not have", () => {
    const spans = codeSpans(parts().v2).filter((c) => /^[a-z]+(_[a-z]+)+$/.test(c));
    for (const code of spans) expect(REJECTION_CODES, `departure names ${code}`).toContain(code);
  });

  it("has one section per input event type in the served part, and no other", () => {
    const events = section(parts().served, 2, "Events and their checks");
    const titles = sections(events, 3).map((s) => codeSpans(s.title));
    for (const t of titles) expect(t, "one event type per section").toHaveLength(1);
    expect(sorted(titles.flat())).toEqual(sorted(HUNT_EVENT_TYPES));
    expect(titles).toHaveLength(HUNT_EVENT_TYPES.length);
  });

  it("states which statuses accept which events exactly as the lifecycle machine does", () => {
    const statuses = section(section(parts().served, 2, "Input events"), 3, "Statuses");
    const table = tables(statuses).find((t) => t.header[0] === "event")!;
    expect(table.header.slice(1)).toEqual([...HUNT_STATUSES]);
    expect(sorted(table.rows.map((r) => codeSpans(r[0]!)[0]!))).toEqual(sorted(HUNT_EVENT_TYPES));
    for (const row of table.rows) {
      const type = codeSpans(row[0]!)[0] as (typeof HUNT_EVENT_TYPES)[number];
      HUNT_STATUSES.forEach((status, i) => {
        const cell = row[i + 1];
        expect(["✓", "—"], `${type} in ${status}`).toContain(cell);
        expect(cell === "✓", `${type} accepted in ${status}`).toBe(ACCEPTS[status][type]);
      });
    }
  });

  it("documents exactly the query ops the engine serves", () => {
    const queries = section(parts().served, 2, "Queries");
    const ops = sections(queries, 3)
      .map((s) => /^`([a-z]+)`$/.exec(s.title)?.[1])
      .filter((op): op is string => op !== undefined);
    expect(sorted(ops)).toEqual(sorted(QUERY_OPS));
    expect(ops).toHaveLength(QUERY_OPS.length);
  });

  it("quotes every query field, its type, range and default as the JSON Schemas define them", () => {
    const queries = section(parts().served, 2, "Queries");
    const common = readJson("schemas/common.json") as { $defs: Record<string, Schema> };
    const resolve = (s: Schema): Schema => {
      if (!s.$ref) return s;
      const name = /#\/\$defs\/(\w+)$/.exec(s.$ref)?.[1];
      expect(name, `a $ref into common.json: ${s.$ref}`).toBeDefined();
      return { ...common.$defs[name!]!, ...s, $ref: undefined };
    };
    for (const op of QUERY_OPS) {
      const schema = readJson(`schemas/queries/${op}-request.json`) as Schema;
      const body = section(queries, 3, `\`${op}\``);
      const table = tables(body).find((t) => t.header[0] === "field");
      const properties = Object.entries(schema.properties ?? {});
      if (properties.length === 0) {
        expect(table, `${op} takes no fields`).toBeUndefined();
        continue;
      }
      expect(table?.header.slice(0, 5)).toEqual(["field", "type", "required", "range", "default"]);
      const rows = new Map(table!.rows.map((r) => [codeSpans(r[0]!)[0]!, r]));
      expect(sorted(rows.keys()), `${op} fields`).toEqual(sorted(properties.map(([k]) => k)));
      for (const [field, raw] of properties) {
        const p = resolve(raw);
        const row = rows.get(field)!;
        const range = p.enum
          ? p.enum.join(" or ")
          : p.type === "integer"
            ? `${p.minimum}–${p.maximum}`
            : `${p.minLength}–${p.maxLength} characters`;
        expect(row.slice(1, 5), `${op}.${field}`).toEqual([
          p.type,
          (schema.required ?? []).includes(field) ? "yes" : "no",
          range,
          p.default === undefined ? "—" : String(p.default),
        ]);
      }
      expect(schema.additionalProperties, `${op}: unknown fields are invalid_request`).toBe(false);
    }
  });

  it("quotes the size, treasure and query limits of the code and the schemas", () => {
    const { served } = parts();
    const limits = section(served, 2, "Limits");
    const en = (n: number) => n.toLocaleString("en-US");
    const row = (name: string) =>
      tables(limits)[0]!.rows.find((r) => r[0] === name) ?? expect.fail(`a limits row "${name}"`);
    expect(row("input message")[1]).toMatch(new RegExp(`^${en(MAX_EVENT_BYTES)} bytes .*`));
    expect(row("input message")[1]).toContain(`\`HuntCreated\`: ${en(MAX_HUNT_CREATED_BYTES)} bytes`);
    expect(row("query request")[1]).toBe(`${en(MAX_EVENT_BYTES)} bytes`);
    const treasures = (readJson("schemas/events/hunt-created.json") as Schema).properties!.treasures!;
    expect(row("treasures per hunt")[1]).toBe(`${treasures.minItems}–${en(treasures.maxItems!)}`);
    const top = (readJson("schemas/queries/top-request.json") as Schema).properties!.n!;
    expect(row("`top`")[1]).toBe(`\`n\` ${top.minimum}–${top.maximum} per page`);
    const around = (readJson("schemas/queries/around-request.json") as Schema).properties!;
    expect(around.before!.maximum).toBe(around.after!.maximum);
    expect(row("`around`")[1]).toBe(
      `\`before\` and \`after\` ${around.before!.minimum}–${around.before!.maximum}`,
    );
  });

  it("lists exactly the error codes the query server replies with", () => {
    const errors = section(section(parts().served, 2, "Queries"), 3, "Errors");
    const listed = tables(errors)[0]!.rows.map((r) => codeSpans(r[0]!)[0]!);
    const source = [
      "actors/host/query-server.ts",
      "actors/hunt/queries.ts",
      "actors/host/ledger-replays.ts",
      "actors/hunt/ledger.ts",
    ]
      .map((f) => readFileSync(join(root, f), "utf8"))
      .join("\n");
    const replied = [...source.matchAll(/queryError\(\s*"([a-z_]+)"/g)].map((m) => m[1]!);
    expect(replied.length).toBeGreaterThan(0);
    expect(sorted(listed)).toEqual(sorted(replied));
  });

  it("has no link or address that leaves the repository", () => {
    expect(doc).not.toMatch(/https?:\/\//i);
    expect(doc).not.toContain("../");
    expect(doc).not.toMatch(/\bfile:\/\//i);
    for (const [, target] of doc.matchAll(/\]\(([^)\s]*)\)/g)) {
      expect(target, "a relative link").toMatch(/^[A-Za-z0-9_.-][^:]*$/);
      const path = target!.replace(/#.*$/, "");
      expect(existsSync(join(dirname(docPath), path)), `link target ${target} exists`).toBe(true);
    }
  });
});

interface Schema {
  $ref?: string | undefined;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
  enum?: string[];
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(join(root, path), "utf8"));
}
