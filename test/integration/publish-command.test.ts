// `cairn publish` against a real nats-server: valid lines published, an invalid line reported, a duplicate dropped.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../bin/cairn.ts";
import { command } from "../../bin/commands/publish.ts";
import { EventLog, ensureStreams } from "../../streams/index.ts";
import { cloudEvent, connectTest, startTestNats, type TestClient, type TestNats } from "../support/nats.ts";

let server: TestNats;
let client: TestClient;

beforeAll(async () => {
  server = await startTestNats();
  client = await connectTest(server.url);
  await ensureStreams(client.jsm, { snapshots: false });
});

afterAll(async () => {
  vi.restoreAllMocks();
  await client?.nc.close();
  await server?.cleanup();
});

describe("cairn publish", () => {
  it("publishes valid lines, reports the invalid one by line number, counts the duplicate", async () => {
    const file = join(server.storeDir, "events.ndjson");
    writeFileSync(
      file,
      [
        JSON.stringify(
          cloudEvent("e-1", "HuntCreated", { title: "t", treasures: [{ id: "t-1", points: 5 }] }),
        ),
        JSON.stringify(cloudEvent("e-2", "PlayerJoined", { playerId: "" })),
        "",
        JSON.stringify(cloudEvent("e-3", "HuntStarted")),
        JSON.stringify(
          cloudEvent("e-1", "HuntCreated", { title: "t", treasures: [{ id: "t-1", points: 5 }] }),
        ),
      ].join("\n"),
    );
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
    vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
    const code = await command.run(["--hunt", "pub", "--file", file, "--nats", server.url]);
    vi.restoreAllMocks();
    expect(code).toBe(1);
    expect(err[0]).toBe('cairn publish: line 2 (event "e-2"): data.playerId: must be a non-empty string');
    expect(out.at(-1)).toMatch(/^cairn publish: 2 published, 1 duplicate, 1 invalid \(5 lines\)/);
    const log = new EventLog(client.js, client.jsm);
    const ids: string[] = [];
    for await (const m of log.read("pub", 1)) ids.push(JSON.parse(new TextDecoder().decode(m.data)).id);
    expect(ids).toEqual(["e-1", "e-3"]);
  });

  it("is registered in the CLI and fails with one clear line when NATS is unreachable", async () => {
    const err: string[] = [];
    vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
    const code = await main(["publish", "--hunt", "h", "--file", "-", "--nats", "nats://127.0.0.1:1"]);
    vi.restoreAllMocks();
    expect(code).toBe(1);
    expect(err[0]).toMatch(/^cairn publish: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/);
    expect(err[1]).toMatch(/nats-server -js|--nats URL/);
    expect(await main(["publish", "--hunt", "bad.id"])).toBe(2);
  });
});
