// `cairn export`'s work: writes one hunt's archive from NATS. The inputs are written as the log is
// read and folded by the same replay as `cairn replay`, whose fold then gives the final standings;
// the checkpoints are the ones the engine stored.
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { RankIndexKind } from "../../native/index.ts";
import { readCheckpoints } from "../../streams/index.ts";
import { replayHunt } from "../host/replay.ts";
import type { CheckpointMessage } from "../hunt/index.ts";
import {
  ARCHIVE_FORMAT,
  ARCHIVE_VERSION,
  type ArchiveBoard,
  type ArchiveHeader,
  ArchiveWriter,
  archiveEvent,
} from "./archive.ts";

/** What an export wrote. */
export interface ExportResult {
  events: number;
  /** The seq of the last event written. */
  seq: number;
  checkpoints: number;
  standings: number;
  /** Checkpoints the replay gives that the engine has not stored (it has not handled those inputs yet). */
  notStoredYet: number;
  /** Stored checkpoints that differ from the replay's: the first such seq, if any. */
  firstDifferentSeq: number | undefined;
}

/** Rows of a board written at a time. */
const PAGE = 10_000;

/** Writes the hunt's archive to `path` (gzipped when it ends in .gz). */
export async function exportHunt(
  nc: NatsConnection,
  huntId: string,
  path: string,
  options: {
    partitions?: number;
    indexKind?: RankIndexKind;
    onProgress?: (events: number, seq: number) => void;
  } = {},
): Promise<ExportResult> {
  const jsm = await jetstreamManager(nc);
  // Stored before the log is read: the ones of inputs beyond the last event read are left out below.
  const stored = (await readCheckpoints(nc, huntId, jsm)).map((c) => JSON.parse(c.body) as CheckpointMessage);
  const key = stored.find((c) => c.key !== undefined)?.key;
  const writer = new ArchiveWriter(path);
  try {
    const header: ArchiveHeader = {
      format: ARCHIVE_FORMAT,
      version: ARCHIVE_VERSION,
      hunt: huntId,
      exportedAt: new Date().toISOString(),
      ...(key !== undefined ? { publicKey: key } : {}),
    };
    await writer.write([header]);
    const replay = await replayHunt(nc, huntId, {
      ...(options.partitions !== undefined ? { partitions: options.partitions } : {}),
      ...(options.indexKind ? { indexKind: options.indexKind } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      onBatch: (batch) => writer.write(batch.map((m) => archiveEvent(m.seq, m.time, m.msgId, m.data))),
    });
    const fold = replay.fold;
    const checkpoints = stored.filter((c) => c.seq <= fold.seq);
    await writer.write(checkpoints.map((c) => ({ kind: "checkpoint", ...c })));
    // Every board: the players', then in a team hunt the teams' (the index names teams as players).
    const boards =
      fold.teamIndex === null
        ? [["players", fold.index] as const]
        : [["players", fold.index] as const, ["teams", fold.teamIndex] as const];
    for (const [name, index] of boards) {
      const size = index.size;
      const board: ArchiveBoard = { kind: "board", board: name, seq: fold.seq, size };
      await writer.write([board]);
      const idField = name === "teams" ? "teamId" : "playerId";
      for (let at = 0; at < size; at += PAGE) {
        await writer.write(
          index
            .top(PAGE, at)
            .map((e) => ({ kind: "standing", rank: e.rank, [idField]: e.playerId, score: e.score })),
        );
      }
    }
    await writer.write([{ kind: "end", events: replay.events, checkpoints: checkpoints.length }]);
    await writer.close();
    const standings = fold.index.size + (fold.teamIndex?.size ?? 0);
    fold.dispose();
    const differs = checkpoints.find((c, i) => {
      const mine = replay.checkpoints[i];
      return !mine || c.seq !== mine.seq || c.chain !== mine.chain;
    });
    return {
      events: replay.events,
      seq: fold.seq,
      checkpoints: checkpoints.length,
      standings,
      notStoredYet: Math.max(0, replay.checkpoints.length - checkpoints.length),
      firstDifferentSeq: differs?.seq,
    };
  } catch (err) {
    writer.abort();
    throw err;
  }
}
