// The audit chain end to end against a real engine and nats-server: a signed hunt of 21,000 inputs
// (unreadable ones included) is exported with `cairn export`, verified offline with `cairn verify`,
// replayed with `cairn replay --verify`; then every kind of tampering with the archive is caught
// with a message that names it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointSigner, type Engine, startEngine, verifyArchive } from "../../actors/index.ts";
import { outputValidators } from "../../schemas/index.ts";
import { queryHunt } from "../../streams/index.ts";
import { connectTest, startTestNats, type TestClient, type TestNats, waitFor } from "../support/nats.ts";
import { readSubject } from "../support/outputs.ts";
import { cairn as cairnWithin } from "../support/process.ts";

/** Exports and replays of 21,000 inputs take seconds each on a shared machine. */
const cairn = (args: string[]) => cairnWithin(args, 60_000);

const HUNT = "archive-hunt";
const PLAYERS = 300;
const INPUTS = 21_000;

const encoder = new TextEncoder();
const event = (id: string, type: string, data?: Record<string, unknown>) =>
  encoder.encode(JSON.stringify({ specversion: "1.0", id: `ar-${id}`, source: "test", type, data }));

/** The hunt's inputs in order, with their Nats-Msg-Id (null: published without one). */
function huntInputs(): { data: Uint8Array; msgId: string | null }[] {
  const inputs: { data: Uint8Array; msgId: string | null }[] = [];
  const add = (id: string, type: string, data?: Record<string, unknown>) =>
    inputs.push({ data: event(id, type, data), msgId: `ar-${id}` });
  add("c", "HuntCreated", {
    title: "archive",
    treasures: [{ id: "t1", points: 7 }],
    rules: { firstFinderBonus: [3] },
  });
  add("s", "HuntStarted");
  for (let p = 0; p < PLAYERS; p++) add(`j${p}`, "PlayerJoined", { playerId: `p${p}` });
  inputs.push({ data: encoder.encode("not json at all"), msgId: "ar-garbage" });
  inputs.push({ data: new Uint8Array([0xff, 0xfe, 0x7b]), msgId: "ar-binary" }); // not UTF-8
  inputs.push({
    data: event("no-id", "ScoreAdjusted", { playerId: "p1", delta: 5, reason: "r" }),
    msgId: null,
  });
  while (inputs.length < INPUTS - 2) {
    const i = inputs.length;
    const playerId = `p${(i * 7919) % PLAYERS}`;
    if (i % 97 === 0) add(`f${i}`, "TreasureFound", { playerId, treasureId: "t1" });
    else add(`a${i}`, "ScoreAdjusted", { playerId, delta: (i % 11) - 5 || 2, reason: "r" });
  }
  add("end", "HuntEnded");
  add("fin", "HuntFinalized", { by: "judge" });
  return inputs;
}

describe("archive: export, verify, replay against a real engine", () => {
  let nats: TestNats;
  let client: TestClient;
  let engine: Engine;
  let dir: string;
  const signer = CheckpointSigner.fromSeed(Buffer.alloc(32, 42));
  const keyFile = () => join(dir, "signing.key");
  const plain = () => join(dir, "hunt.ndjson");

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "cairn-archive-"));
    writeFileSync(keyFile(), signer.toPem(), { mode: 0o600 });
    nats = await startTestNats();
    engine = await startEngine({
      nats: { servers: nats.url },
      metricsPort: null,
      logger: pino({ level: "silent" }),
      snapshotEvery: 4000,
      signer,
    });
    client = await connectTest(nats.url);
    const inputs = huntInputs();
    for (let i = 0; i < inputs.length; i += 500) {
      await Promise.all(
        inputs
          .slice(i, i + 500)
          .map((m) => client.js.publish(`hunt.${HUNT}.events`, m.data, m.msgId ? { msgID: m.msgId } : {})),
      );
    }
    await waitFor(async () => (await queryHunt<{ seq: number }>(client.nc, HUNT, "state")).seq >= INPUTS, {
      timeoutMs: 60_000,
      message: "the engine to handle every input",
    });
  }, 120_000);

  afterAll(async () => {
    await client?.nc.close();
    await engine?.stop();
    await nats?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("publishes signed, chained checkpoints once each, and state carries the last", async () => {
    const stored = await readSubject(client.js, client.jsm, "HUNT_CHECKPOINTS", `hunt.${HUNT}.checkpoints`);
    expect(stored.map((c) => [c.body.seq, c.body.events])).toEqual([
      [10_000, 10_000],
      [20_000, 20_000],
      [INPUTS - 1, INPUTS - 1],
      [INPUTS, INPUTS],
    ]);
    for (const c of stored) {
      expect(outputValidators.checkpoint(c.body), JSON.stringify(c.body)).toBe(true);
      expect(c.body.key).toBe(signer.publicKey);
    }
    const state = await queryHunt<Record<string, unknown>>(client.nc, HUNT, "state");
    expect(outputValidators.stateReply(state)).toBe(true);
    expect(state.checkpoint).toEqual(stored.at(-1)!.body);
  });

  it("exports an archive that cairn verify accepts, offline, gzipped or not", async () => {
    const gz = join(dir, "hunt.ndjson.gz");
    const exported = await cairn(["export", "--nats", nats.url, "--hunt", HUNT, "--out", gz]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toContain(
      `${INPUTS} events up to seq ${INPUTS}, 4 checkpoints, ${PLAYERS} standings`,
    );
    const lines = gunzipSync(readFileSync(gz)).toString("utf8").trimEnd().split("\n");
    const header = JSON.parse(lines[0]!);
    expect(header).toMatchObject({
      format: "cairn-archive",
      version: 1,
      hunt: HUNT,
      publicKey: signer.publicKey,
    });
    const records = lines.slice(1).map((l) => JSON.parse(l));
    const events = records.filter((r) => r.kind === "event");
    expect(events).toHaveLength(INPUTS);
    const binary = events.find((e) => e.headers["Nats-Msg-Id"] === "ar-binary");
    expect(binary.bodyBase64).toBe(Buffer.from([0xff, 0xfe, 0x7b]).toString("base64"));
    expect(events.find((e) => e.body === "not json at all")).toBeDefined();
    expect(events.filter((e) => e.headers["Nats-Msg-Id"] === undefined)).toHaveLength(1);
    expect(records.at(-1)).toEqual({ kind: "end", events: INPUTS, checkpoints: 4 });

    const verified = await cairn(["verify", gz, "--public-key", signer.publicKey, "--require-signatures"]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toContain("verify: OK");

    expect((await cairn(["export", "--nats", nats.url, "--hunt", HUNT, "--out", plain()])).code).toBe(0);
    const result = await verifyArchive(plain(), { publicKey: signer.publicKey });
    expect(result).toMatchObject({ ok: true, events: INPUTS, checkpoints: 4, signed: 4, standings: PLAYERS });
  });

  it("cairn replay reproduces every stored checkpoint, bit for bit with the key", async () => {
    for (const args of [["--signing-key", keyFile()], []]) {
      const run = await cairn(["replay", "--nats", nats.url, "--hunt", HUNT, "--verify", ...args]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toContain("verify: the 4 stored checkpoints match the replay");
    }
    const other = join(dir, "other.key");
    expect((await cairn(["keygen", "--out", other])).code).toBe(0);
    const wrongKey = await cairn([
      "replay",
      "--nats",
      nats.url,
      "--hunt",
      HUNT,
      "--verify",
      "--signing-key",
      other,
    ]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/MISMATCH in the stored checkpoints: checkpoint 1: stored/);
  });

  /** Verifies a copy of the plain archive changed by `edit` (over its lines). */
  async function tampered(edit: (lines: string[]) => string[]) {
    const lines = readFileSync(plain(), "utf8").trimEnd().split("\n");
    const file = join(dir, `tampered-${Math.random().toString(36).slice(2)}.ndjson`);
    writeFileSync(file, `${edit(lines).join("\n")}\n`);
    return { file, result: await verifyArchive(file) };
  }
  const find = (lines: string[], test: (r: Record<string, unknown>) => boolean) =>
    lines.findIndex((l, i) => i > 0 && test(JSON.parse(l)));

  it("catches one event body changed, at the first checkpoint after it", async () => {
    const { file, result } = await tampered((lines) => {
      const i = find(
        lines,
        (r) => r.kind === "event" && typeof r.body === "string" && r.body.includes('"delta":2'),
      );
      lines[i] = lines[i]!.replace('\\"delta\\":2', '\\"delta\\":3');
      return lines;
    });
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toMatch(
      /^checkpoint 1 \(seq 10000\) differs from the events: its stateHash is [0-9a-f]{64} in the archive, [0-9a-f]{64} recomputed/,
    );
    const run = await cairn(["verify", file]);
    expect(run.code).toBe(1);
    const stderr = run.stderr.trimEnd().split("\n");
    expect(stderr).toHaveLength(2);
    expect(stderr[0]).toMatch(/^cairn verify: checkpoint 1 \(seq 10000\) differs/);
  });

  it("catches an event dropped", async () => {
    const { result } = await tampered((lines) => {
      lines.splice(
        find(lines, (r) => r.kind === "event" && r.seq === 5000),
        1,
      );
      return lines;
    });
    expect(result.problems[0]).toBe(
      "checkpoint 1 (seq 10000) differs from the events: its seq is 10000 in the archive, 10001 recomputed (at seq 10001, after 10000 events)",
    );
  });

  it("catches two events reordered: their records swapped, or their contents swapped under the same seqs", async () => {
    const swapped = (lines: string[]) => {
      const i = find(lines, (r) => r.kind === "event" && r.seq === 6000);
      [lines[i], lines[i + 1]] = [lines[i + 1]!, lines[i]!];
      return lines;
    };
    const lines = readFileSync(plain(), "utf8").trimEnd().split("\n");
    const line = find(lines, (r) => r.kind === "event" && r.seq === 6000) + 1;
    const file = join(dir, "reordered.ndjson");
    writeFileSync(file, `${swapped(lines).join("\n")}\n`);
    const run = await cairn(["verify", file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`line ${line + 1}: event seq 6000 does not follow seq 6001`);

    // Renumbered, the two events keep the log's order of seqs but not its order of events. Checkpoints
    // certify the state, so a swap shows only while its effect does: two adjustments of different
    // players just before a checkpoint leave each with the other's tie-break. (Earlier in the log,
    // later adjustments of the same players overwrite both, and the swap leaves no trace in the state.)
    const { result } = await tampered((all) => {
      const i = find(all, (r) => r.kind === "event" && r.seq === 9998);
      const [a, b] = [JSON.parse(all[i]!), JSON.parse(all[i + 1]!)];
      for (const field of Object.keys(a).filter((k) => k !== "seq" && k !== "time")) {
        [a[field], b[field]] = [b[field], a[field]];
      }
      all[i] = JSON.stringify(a);
      all[i + 1] = JSON.stringify(b);
      return all;
    });
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toMatch(
      /^checkpoint 1 \(seq 10000\) differs from the events: its stateHash is [0-9a-f]{64} in the archive, [0-9a-f]{64} recomputed/,
    );
  });

  it("catches a checkpoint altered", async () => {
    const { result } = await tampered((lines) => {
      const i = find(lines, (r) => r.kind === "checkpoint" && r.seq === 20_000);
      const c = JSON.parse(lines[i]!);
      c.stateHash = c.stateHash.replace(/^./, (d: string) => (d === "0" ? "1" : "0"));
      lines[i] = JSON.stringify(c);
      return lines;
    });
    expect(result.problems[0]).toMatch(
      /^checkpoint 2 \(seq 20000\) differs from the events: its stateHash is/,
    );
    expect(result.problems).toContain(
      "checkpoint 2 (seq 20000) breaks the chain: its chain is not sha256(prev:seq:stateHash)",
    );
  });

  it("catches a signature altered", async () => {
    const { result } = await tampered((lines) => {
      const i = find(lines, (r) => r.kind === "checkpoint" && r.seq === INPUTS);
      const c = JSON.parse(lines[i]!);
      c.sig = signer.sign({ ...c, chain: "0".repeat(64) }).sig;
      lines[i] = JSON.stringify(c);
      return lines;
    });
    expect(result.problems).toEqual([
      `checkpoint 4 (seq ${INPUTS}): its signature does not verify with its key ${signer.publicKey}`,
    ]);
    const resigned = await tampered((lines) => {
      const i = find(lines, (r) => r.kind === "checkpoint" && r.seq === INPUTS);
      lines[i] = JSON.stringify({
        kind: "checkpoint",
        ...CheckpointSigner.fromSeed(Buffer.alloc(32, 1)).sign(JSON.parse(lines[i]!)),
      });
      return lines;
    });
    expect(resigned.result.problems[0]).toMatch(
      /^checkpoint 4 \(seq 21000\) is signed by .*, not by the header's key/,
    );
  });

  it("catches the standings altered", async () => {
    const { result } = await tampered((lines) => {
      const i = find(lines, (r) => r.kind === "standing" && r.rank === 3);
      const s = JSON.parse(lines[i]!);
      s.score += 1;
      lines[i] = JSON.stringify(s);
      return lines;
    });
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatch(
      /^the players board differs at rank 3: the archive has "p\d+" with -?\d+, the events give "p\d+" with -?\d+$/,
    );
  });

  it("archives a team hunt's team board after the players', and catches it altered", async () => {
    const teamHunt = "archive-teams";
    const send = (id: string, type: string, data?: Record<string, unknown>) =>
      client.js.publish(`hunt.${teamHunt}.events`, event(`tm-${id}`, type, data), { msgID: `ar-tm-${id}` });
    await send("c", "HuntCreated", {
      title: "teams",
      treasures: [{ id: "t1", points: 7 }],
      rules: { teams: {} },
    });
    await send("s", "HuntStarted");
    for (const team of ["red", "blue", "green"]) await send(`t-${team}`, "TeamCreated", { teamId: team });
    for (const [p, team] of [
      ["a", "red"],
      ["b", "blue"],
      ["c", "green"],
      ["d", "red"],
    ]) {
      await send(`j-${p}`, "PlayerJoined", { playerId: p, teamId: team });
    }
    await send("f", "TreasureFound", { playerId: "b", treasureId: "t1" });
    const last = await send("adj", "ScoreAdjusted", { teamId: "green", delta: 3, reason: "r" });
    await waitFor(
      async () => (await queryHunt<{ seq: number }>(client.nc, teamHunt, "state")).seq >= last.seq,
      {
        message: "the team hunt to be handled",
      },
    );
    const file = join(dir, "teams.ndjson");
    const exported = await cairn(["export", "--nats", nats.url, "--hunt", teamHunt, "--out", file]);
    expect(exported.code, exported.stderr).toBe(0);
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    const records = lines.slice(1).map((l) => JSON.parse(l));
    expect(records.filter((r) => r.kind === "board").map((r) => [r.board, r.size])).toEqual([
      ["players", 4],
      ["teams", 3],
    ]);
    expect(records.filter((r) => r.kind === "standing" && r.teamId !== undefined)).toEqual([
      { kind: "standing", rank: 1, teamId: "blue", score: 7 },
      { kind: "standing", rank: 2, teamId: "green", score: 3 },
      { kind: "standing", rank: 3, teamId: "red", score: 0 },
    ]);
    expect((await verifyArchive(file)).ok).toBe(true);
    const i = lines.findIndex((l) => l.includes('"teamId":"green"'));
    lines[i] = lines[i]!.replace('"score":3', '"score":4');
    const altered = join(dir, "teams-altered.ndjson");
    writeFileSync(altered, `${lines.join("\n")}\n`);
    const result = await verifyArchive(altered);
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      'the teams board differs at rank 2: the archive has "green" with 4, the events give "green" with 3',
    ]);
  });

  it("says plainly when the file is not a readable archive", async () => {
    const cut = await tampered((lines) => lines.slice(0, -1)).catch((err: Error) => err);
    expect((cut as Error).message).toMatch(/ends at line \d+ without its end record: it is cut short/);
    const notArchive = join(dir, "not-an-archive.txt");
    writeFileSync(notArchive, "hello\n");
    const run = await cairn(["verify", notArchive]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `cairn verify: ${notArchive}: line 1: not JSON (Unexpected token 'h', "hello" is not valid JSON)\ncairn verify: verify the archive as \`cairn export\` wrote it; export it again if it was damaged\n`,
    );
    const missing = await cairn(["verify", join(dir, "nope.ndjson")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot open ".*nope.ndjson": ENOENT/);
    const brokenGz = join(dir, "broken.ndjson.gz");
    writeFileSync(brokenGz, readFileSync(join(dir, "hunt.ndjson.gz")).subarray(0, 2000));
    expect((await cairn(["verify", brokenGz])).stderr).toMatch(/cannot be read as gzip/);
    expect((await cairn(["verify"])).code).toBe(2);
  });
});
