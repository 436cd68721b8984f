// Every `cairn` error path, through the real command line in a child process: the exit code (2 for a
// usage error, 1 for a failure), two lines on stderr (what went wrong, what to do) and never a stack trace.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Engine, startEngine } from "../../actors/index.ts";
import { ensureStreams } from "../../streams/index.ts";
import {
  cloudEvent,
  connectTest,
  startTestNats,
  type TestClient,
  type TestNats,
  waitFor,
} from "../support/nats.ts";
import { cairn, type Run } from "../support/process.ts";

const NOBODY = "nats://127.0.0.1:1";

/** The run failed with `code` and printed exactly what-and-what-to-do, prefixed by the command. */
function expectTwoLines(run: Run, code: number, prefix: string): [string, string] {
  expect(run.stderr, run.stderr).not.toMatch(/^\s+at /m);
  const lines = run.stderr.trimEnd().split("\n");
  expect(lines, run.stderr).toHaveLength(2);
  for (const line of lines) expect(line.startsWith(`cairn ${prefix}: `), run.stderr).toBe(true);
  expect(run.code, run.stderr).toBe(code);
  return lines as [string, string];
}

const COMMANDS = ["demo", "serve", "replay", "top", "rank", "watch", "publish", "keygen", "export", "verify"];
const BENCHES = ["index", "consume", "e2e", "replay", "ledger", "soak", "hunts", "viewer", "huge", "smoke"];

describe("cairn --help, bad flags and missing flags", () => {
  it.each([...COMMANDS, ...BENCHES.map((b) => `bench ${b}`)])("%s --help prints its usage", async (cmd) => {
    const run = await cairn([...cmd.split(" "), "--help"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^usage: cairn ${cmd}`));
    expect(run.stderr).toBe("");
  });

  it.each([...COMMANDS, ...BENCHES.map((b) => `bench ${b}`)])("%s --bogus is a usage error", async (cmd) => {
    const run = await cairn([...cmd.split(" "), "--bogus"]);
    const [what, hint] = expectTwoLines(run, 2, cmd.split(" ")[0]!);
    expect(what).toMatch(/Unknown option '--bogus'/);
    expect(hint).toContain(`cairn ${cmd} --help`);
  });

  it.each([
    ["replay", "--hunt"],
    ["top", "--hunt"],
    ["rank --hunt h", "--player"],
    ["watch", "--hunt"],
    ["publish", "--hunt"],
    ["export", "--hunt"],
    ["export --hunt h", "--out"],
    ["keygen", "--out"],
  ])("%s without %s is a usage error", async (cmd, flag) => {
    const run = await cairn(cmd.split(" "));
    const [what] = expectTwoLines(run, 2, cmd.split(" ")[0]!);
    expect(what).toContain(`${flag} is required`);
  });

  it("a bad value for a benchmark's flag is a usage error", async () => {
    const [what] = expectTwoLines(await cairn(["bench", "e2e", "--only", "bogus"]), 2, "bench");
    expect(what).toContain("--only takes");
    expectTwoLines(await cairn(["bench", "consume", "--events", "many"]), 2, "bench");
    const [players] = expectTwoLines(await cairn(["bench", "huge", "--players", "1.5"]), 2, "bench");
    expect(players).toContain("--players must be a whole number");
    expectTwoLines(await cairn(["bench", "nope"]), 2, "bench");
    // An empty directory would turn profiling off without a word.
    for (const bench of ["e2e", "hunts", "huge"]) {
      const [dir] = expectTwoLines(await cairn(["bench", bench, "--cpu-prof", ""]), 2, "bench");
      expect(dir).toContain("--cpu-prof needs a directory");
    }
  });
});

describe("cairn against a NATS URL where nothing listens", () => {
  // publish validates its input before it connects, so it gets one valid event to publish.
  const dir = mkdtempSync(join(tmpdir(), "cairn-cli-errors-"));
  const events = join(dir, "events.ndjson");
  writeFileSync(events, JSON.stringify(cloudEvent("e-1", "HuntStarted")));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ["serve", "--metrics-port", "off"],
    ["replay", "--hunt", "h"],
    ["top", "--hunt", "h"],
    ["rank", "--hunt", "h", "--player", "p"],
    ["watch", "--hunt", "h"],
    ["publish", "--hunt", "h", "--file", events],
    ["bench", "consume", "--smoke"],
    ["export", "--hunt", "h", "--out", join(dir, "h.ndjson")],
  ])("%s fails with what to do", async (...args) => {
    const [what, hint] = expectTwoLines(await cairn([...args, "--nats", NOBODY]), 1, args[0]!);
    expect(what).toContain(`cannot connect to NATS at ${NOBODY}`);
    expect(hint).toMatch(/--nats URL/);
  });
});

describe("signing keys", () => {
  const dir = mkdtempSync(join(tmpdir(), "cairn-cli-keys-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("keygen writes a private key of mode 0600 and refuses to overwrite it without --force", async () => {
    const file = join(dir, "k.pem");
    const made = await cairn(["keygen", "--out", file, "--json"]);
    expect(made.code, made.stderr).toBe(0);
    const { publicKey } = JSON.parse(made.stdout) as { publicKey: string };
    expect(Buffer.from(publicKey, "base64")).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const [what, hint] = expectTwoLines(await cairn(["keygen", "--out", file]), 2, "keygen");
    expect(what).toContain("already exists");
    expect(hint).toContain("--force");
    expect((await cairn(["keygen", "--out", file, "--force"])).code).toBe(0);
    expect(readFileSync(file, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it.each([
    ["serve", "--metrics-port", "off", "--nats", NOBODY],
    ["replay", "--hunt", "h", "--nats", NOBODY],
    ["demo"],
  ])("%s --signing-key names what is wrong with the file", async (...args) => {
    const missing = await cairn([...args, "--signing-key", join(dir, "nope.pem")]);
    const [what, hint] = expectTwoLines(missing, 2, args[0]!);
    expect(what).toMatch(/--signing-key: cannot read ".*nope.pem" \(ENOENT\)/);
    expect(hint).toContain("cairn keygen --out");
    const bad = join(dir, "bad.key");
    writeFileSync(bad, "0123");
    const [badWhat] = expectTwoLines(await cairn([...args, "--signing-key", bad]), 2, args[0]!);
    expect(badWhat).toMatch(
      /is not a usable key: it is neither a PEM PKCS#8 Ed25519 private key nor a 32-byte/,
    );
  });

  it("verify takes one archive and a 32-byte public key", async () => {
    expect(expectTwoLines(await cairn(["verify"]), 2, "verify")[0]).toContain("name the archive to verify");
    expect(expectTwoLines(await cairn(["verify", "a", "b"]), 2, "verify")[0]).toContain(
      "one archive at a time",
    );
    const [what] = expectTwoLines(await cairn(["verify", "a", "--public-key", "AAAA"]), 2, "verify");
    expect(what).toContain("must be 32 bytes");
  });
});

describe("cairn against a NATS server without Cairn's streams", () => {
  let server: TestNats;
  beforeAll(async () => {
    server = await startTestNats();
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it.each([
    ["watch", "--hunt", "h", "--from-start"],
    ["replay", "--hunt", "h"],
  ])("%s exits 1 saying the streams are missing", async (...args) => {
    const [what, hint] = expectTwoLines(await cairn([...args, "--nats", server.url], 20_000), 1, args[0]!);
    expect(what).toMatch(/no Cairn streams|HUNT_EVENTS|HUNT_RANKS/);
    expect(hint).toContain("cairn serve");
  });
});

describe("cairn replay --verify with the engine running", () => {
  let server: TestNats;
  let client: TestClient;
  let engine: Engine;
  beforeAll(async () => {
    server = await startTestNats();
    client = await connectTest(server.url);
    await ensureStreams(client.jsm);
    engine = await startEngine({
      nats: { servers: server.url },
      metricsPort: null,
      logger: pino({ level: "silent" }),
    });
    await client.js.publish(
      "hunt.known.events",
      JSON.stringify(cloudEvent("k-1", "HuntCreated", { title: "t", treasures: [{ id: "t-1", points: 1 }] })),
      { msgID: "k-1" },
    );
    await waitFor(
      async () => (await client.nc.request("hunt.known.query.state", "{}")).json<{ seq?: number }>().seq,
      {
        message: "the engine handling hunt known",
      },
    );
  });
  afterAll(async () => {
    await engine?.stop();
    await client?.nc.close();
    await server?.cleanup();
  });

  it("for a hunt with no events says so, not that the engine is down", async () => {
    const [what, hint] = expectTwoLines(
      await cairn(["replay", "--hunt", "nope", "--verify", "--nats", server.url]),
      1,
      "replay",
    );
    expect(what).toContain('no events have been published for hunt "nope"');
    expect(hint).not.toContain("start `cairn serve`");
    expect(hint).toContain("hunt id");
  });

  it("for a known hunt matches the live engine", async () => {
    const run = await cairn(["replay", "--hunt", "known", "--verify", "--nats", server.url]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("verify: live engine matches at seq 1");
  });
});
