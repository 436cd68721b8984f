// The ceiling of `cairn bench e2e`: an engine whose fold does nothing. It publishes one rank message
// per event that names a player, on hunt.<id>.ranks, in the engine's JSON shape and through the same
// OutputPublisher (Nats-Msg-Id, stored by HUNT_RANKS). What it measures is therefore the NATS path
// alone: the latency floor and the highest rate this machine carries for this message pattern.
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { EngineProcess } from "../bin/engine-process.ts";
import { runAsMain, runPeerEngine, startPeerEngine } from "./peer-engine.ts";

const SELF = fileURLToPath(import.meta.url);

/** Starts the no-op engine as a child process; resolves once it consumes. */
export function startNoopEngine(
  url: string,
  options: { batch?: number; execArgv?: string[] } = {},
): Promise<EngineProcess> {
  return startPeerEngine(
    SELF,
    "the no-op engine",
    url,
    ["--batch", String(options.batch ?? 1000)],
    options.execArgv,
  );
}

const PLAYER_KEY = new TextEncoder().encode('"playerId":"');

/** The value of the first `"playerId":"…"` in a JSON body, without parsing it; undefined when absent. */
function playerIdOf(data: Uint8Array): string | undefined {
  const first = PLAYER_KEY[0]!;
  const n = PLAYER_KEY.length;
  outer: for (let i = 0; i + n <= data.length; i++) {
    if (data[i] !== first) continue;
    for (let j = 1; j < n; j++) if (data[i + j] !== PLAYER_KEY[j]) continue outer;
    const from = i + n;
    let end = from;
    while (end < data.length && data[end] !== 0x22) end++;
    return String.fromCharCode.apply(null, data.subarray(from, end) as unknown as number[]);
  }
  return undefined;
}

runAsMain(import.meta.url, async (argv) => {
  const { values } = parseArgs({
    args: argv,
    options: { nats: { type: "string" }, batch: { type: "string" } },
    strict: true,
  });
  await runPeerEngine({
    name: "cairn-noop-engine",
    url: values.nats ?? "",
    batch: Number(values.batch ?? 1000),
    fold(batch, publisher) {
      for (const m of batch) {
        const playerId = playerIdOf(m.data);
        if (playerId !== undefined) publisher.rankChange(m.huntId, m.seq, playerId, 0, 1, 1, 1);
      }
    },
  });
});
