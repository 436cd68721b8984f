// `cairn audit` through the real command line against a nats-server holding a played hunt (no engine:
// the audit folds the log itself): the statement in each format equals the ledger module's, the report
// lists the organisers' actions with their verdicts and agrees with a replay, and each mistake in how
// it is called, or in what it is asked, gets its two lines and exit code.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replayHunt, stateHash } from "../../actors/index.ts";
import type { LedgerEntry } from "../../schemas/index.ts";
import { ensureStreams } from "../../streams/index.ts";
import { ev, playedHunt } from "../support/hunt-log.ts";
import {
  connectTest,
  publishEvents,
  startTestNats,
  storedLedger,
  type TestClient,
  type TestNats,
} from "../support/nats.ts";

const CLI = join(fileURLToPath(new URL("../..", import.meta.url)), "bin", "cairn.js");
const HUNT = "audit-cli";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe("cairn audit", () => {
  let nats: TestNats;
  let client: TestClient;
  let dir: string;
  const events = [
    ...playedHunt("audit-cli", 12, 400).slice(0, -1),
    ev("ScoreAdjusted", { playerId: "ghost", delta: 5, reason: "typo" }, "audit-cli-ghost"),
    ev("HuntEnded", { reason: { why: "time", by: "clock" } }, "audit-cli-end"),
    ev("HuntFinalized", { by: "chief judge" }, "audit-cli-final"),
    ev(
      "ScoreAdjusted",
      { playerId: "p3", delta: 100, reason: "after the fact", by: "rogue" },
      "audit-cli-late",
    ),
  ];

  function cairn(args: string[]): Promise<Run> {
    return new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [CLI, "audit", "--nats", nats.url, ...args],
        { timeout: 60_000, env: { ...process.env, NATS_URL: "", CAIRN_DEBUG: "" } },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
          resolve({ code: child.killed ? null : code, stdout, stderr });
        },
      );
    });
  }

  beforeAll(async () => {
    nats = await startTestNats();
    client = await connectTest(nats.url);
    await ensureStreams(client.jsm);
    await publishEvents(client, HUNT, events);
    dir = mkdtempSync(join(tmpdir(), "cairn-audit-"));
  });

  afterAll(async () => {
    await client?.nc.close();
    await nats?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ledgerOf = (playerId: string) => storedLedger(client, HUNT, { playerId });

  it("prints a player's statement as JSON equal to the ledger module's, and as text and CSV", async () => {
    const want = await ledgerOf("p3");
    expect(want.length).toBeGreaterThan(10);
    const json = await cairn(["--hunt", HUNT, "--player", "p3", "--format", "json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      huntId: HUNT,
      seq: events.length,
      status: "finalized",
      playerId: "p3",
      entries: want,
    });
    expect(json.stderr).toMatch(/audited \d+ events of hunt audit-cli/);

    const text = await cairn(["--hunt", HUNT, "--player", "p3"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      `statement of player p3 in hunt ${HUNT}, at seq ${events.length} (finalized)`,
    );
    expect(text.stdout).toContain(new Date(want[0]!.time).toISOString());
    expect(text.stdout).toContain(`${want.length} entries`);

    const file = join(dir, "p3.csv");
    const csv = await cairn(["--hunt", HUNT, "--player", "p3", "--format", "csv", "--out", file]);
    expect(csv.code).toBe(0);
    expect(csv.stdout).toBe("");
    const rows = readFileSync(file, "utf8").trimEnd().split("\r\n");
    expect(rows[0]).toBe(
      "seq,time,runningMs,type,eventId,delta,score,rank,treasureId,submissionId,by,reason",
    );
    expect(rows).toHaveLength(want.length + 1);
    expect(rows[1]!.split(",").slice(0, 3)).toEqual([
      String(want[0]!.seq),
      new Date(want[0]!.time).toISOString(),
      String(want[0]!.runningMs),
    ]);
  });

  it("stops at --until-seq", async () => {
    const until = 200;
    const run = await cairn([
      "--hunt",
      HUNT,
      "--player",
      "p3",
      "--format",
      "json",
      "--until-seq",
      String(until),
    ]);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { seq: number; entries: LedgerEntry[] };
    expect(out.seq).toBe(until);
    expect(out.entries).toEqual((await ledgerOf("p3")).filter((e) => e.seq <= until));
  });

  it("prints the hunt's report: the organisers' actions with their verdicts, rejections, standings, finality and stateHash", async () => {
    const replay = await replayHunt(client.nc, HUNT);
    const hash = stateHash(replay.fold);
    const run = await cairn(["--hunt", HUNT, "--format", "json", "--top", "3"]);
    expect(run.code).toBe(0);
    const r = JSON.parse(run.stdout);
    expect(r).toMatchObject({
      huntId: HUNT,
      seq: events.length,
      status: "finalized",
      final: true,
      stateHash: hash,
      checkpoints: null,
    });
    expect(r.standings).toEqual(replay.fold.index.top(3));
    expect(r.rejected).toBe(replay.rejections);
    expect(Object.values(r.rejections as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(
      replay.rejections,
    );
    const adjustments = events.filter((e) => e.type === "ScoreAdjusted");
    expect(r.actions.filter((a: { type: string }) => a.type === "ScoreAdjusted")).toHaveLength(
      adjustments.length,
    );
    const tail = r.actions.slice(-4);
    expect(tail[0]).toMatchObject({
      type: "ScoreAdjusted",
      applied: false,
      code: "unknown_player",
      playerId: "ghost",
      reason: "typo",
    });
    expect(tail[1]).toMatchObject({
      type: "HuntEnded",
      applied: true,
      reason: '{"why":"time","by":"clock"}',
    });
    expect(tail[2]).toMatchObject({ type: "HuntFinalized", applied: true, by: "chief judge" });
    expect(tail[3]).toMatchObject({
      type: "ScoreAdjusted",
      applied: false,
      code: "finalized",
      by: "rogue",
      delta: 100,
    });
    expect(r.actions.find((a: { type: string }) => a.type === "PlayerDisqualified")).toMatchObject({
      applied: true,
      playerId: "p1",
      by: "judge",
      reason: "shared answers",
    });

    const text = await cairn(["--hunt", HUNT]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("final: yes");
    expect(text.stdout).toContain(`stateHash ${hash}`);
    expect(text.stdout).toMatch(/rejected finalized\s+p3\s+\+100\s+rogue\s+after the fact/);
    expect(text.stdout).toMatch(/\n {2}finalized +1\n/);
    expect(text.stdout).toContain("checkpoints:");

    const csv = await cairn(["--hunt", HUNT, "--format", "csv"]);
    expect(csv.code).toBe(0);
    expect(csv.stdout.trimEnd().split("\r\n")).toHaveLength(r.actions.length + 1);
  });

  it("says what was wrong and what to do", async () => {
    const cases: [string[], number, RegExp][] = [
      [
        ["--hunt", HUNT, "--player", "p1", "--team", "red"],
        2,
        /--player and --team cannot be given together/,
      ],
      [["--hunt", HUNT, "--format", "xml"], 2, /--format must be text, json or csv, got "xml"/],
      [["--player", "p1"], 2, /--hunt is required/],
      [["--hunt", HUNT, "--until-seq", "0"], 2, /--until-seq must be a whole number/],
      [["--hunt", "no-such-hunt"], 1, /hunt "no-such-hunt" has no events on hunt\.no-such-hunt\.events/],
      [["--hunt", HUNT, "--player", "nobody"], 1, /player "nobody" never joined hunt "audit-cli"/],
      [["--hunt", HUNT, "--team", "red"], 1, /has no team "red" \(it is a solo hunt\)/],
    ];
    // In parallel: each is a process of its own.
    const runs = await Promise.all(cases.map(([args]) => cairn(args)));
    for (const [i, [args, code, message]] of cases.entries()) {
      const run = runs[i]!;
      expect({ args, code: run.code }).toEqual({ args, code });
      const lines = run.stderr.trimEnd().split("\n");
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(message);
      expect(lines[1]).toMatch(/^cairn audit: /);
      expect(run.stdout).toBe("");
    }
  });
});
