// `cairn verify`'s work, offline: folds the archive's events in a fresh HuntFold (no NATS, no engine)
// and checks every archived checkpoint (fields, chain, signature) and every board's standings
// against what the events give, reporting the first difference of each kind.
import { createRankIndex, type RankEntry, type RankIndex, type RankIndexKind } from "../../native/index.ts";
import {
  type Checkpoint,
  chainOf,
  type FoldInput,
  GENESIS_CHAIN,
  HuntFold,
  type OutputSink,
  signatureValid,
} from "../hunt/index.ts";
import {
  type ArchiveCheckpoint,
  ArchiveError,
  type ArchiveStanding,
  eventBody,
  openArchive,
} from "./archive.ts";

/** What `verifyArchive` found. */
export interface VerifyResult {
  hunt: string;
  /** True when every checkpoint, signature and standing matches the events. */
  ok: boolean;
  /** Each difference found, the first one first (at most one per kind of check, plus counts). */
  problems: string[];
  events: number;
  /** The seq of the last event. */
  seq: number;
  checkpoints: number;
  /** How many checkpoints carry a signature, and the key they carry (the first one seen). */
  signed: number;
  key: string | undefined;
  /** The last chain the events give (what an auditor compares with a published one). */
  lastChain: string | undefined;
  standings: number;
}

/** Rows of a board compared at a time. */
const PAGE = 10_000;
const BATCH = 1000;

/** Verifies an archive; throws ArchiveError when it cannot be read at all. */
export async function verifyArchive(
  path: string,
  options: {
    /** Require every signature to be by this key (raw 32 bytes, base64). */
    publicKey?: string;
    /** Require every checkpoint to be signed. */
    requireSignatures?: boolean;
    indexKind?: RankIndexKind;
    onProgress?: (what: string) => void;
  } = {},
): Promise<VerifyResult> {
  const { header, records } = await openArchive(path);
  const fold = new HuntFold(header.hunt, createRankIndex(options.indexKind ?? "auto"));
  const recomputed: Checkpoint[] = [];
  const sink: OutputSink = {
    rank: () => {},
    teamRank: () => {},
    rejected: () => {},
    checkpoint: (seq, events, stateHash, prev, chain) => {
      recomputed.push({ seq, events, stateHash, prev, chain });
    },
  };
  const result: VerifyResult = {
    hunt: header.hunt,
    ok: false,
    problems: [],
    events: 0,
    seq: 0,
    checkpoints: 0,
    signed: 0,
    key: undefined,
    lastChain: undefined,
    standings: 0,
  };
  const problems = result.problems;
  const first = new Set<string>();
  /** Keeps the first problem of each kind: the rest follow from it. */
  const problem = (kind: string, message: string) => {
    if (first.has(kind)) return;
    first.add(kind);
    problems.push(message);
  };
  let batch: FoldInput[] = [];
  let folded = false;
  const foldBatch = () => {
    fold.applyBatch(batch, sink);
    batch = [];
  };
  let lastReport = performance.now();
  /** Called per record, so the message is formatted only when it is reported (toLocaleString costs ~1 µs). */
  const progress = (count: number, what: string) => {
    if (!options.onProgress) return;
    const now = performance.now();
    if (now - lastReport > 250) {
      lastReport = now;
      options.onProgress(`verifying ${header.hunt}: ${count.toLocaleString("en-US")} ${what}`);
    }
  };
  let archivedPrev = GENESIS_CHAIN;
  let board:
    | { name: string; index: RankIndex; size: number; seen: number; page: RankEntry[]; pageAt: number }
    | undefined;
  const boards = new Set<string>();
  for await (const { line, record } of records) {
    if (record.kind === "event") {
      batch.push({
        seq: record.seq,
        time: record.time,
        msgId: record.headers["Nats-Msg-Id"] || null,
        data: eventBody(record),
      });
      result.events++;
      result.seq = record.seq;
      if (batch.length >= BATCH) foldBatch();
      progress(result.events, "events folded");
      continue;
    }
    if (!folded) {
      foldBatch();
      folded = true;
    }
    switch (record.kind) {
      case "checkpoint": {
        const i = result.checkpoints++;
        checkCheckpoint(record, i, recomputed[i], archivedPrev, problem, options);
        archivedPrev = record.chain;
        if (record.sig !== undefined) {
          result.signed++;
          result.key ??= record.key;
          if (header.publicKey !== undefined && record.key !== header.publicKey) {
            problem(
              "header key",
              `checkpoint ${i + 1} (seq ${record.seq}) is signed by ${record.key}, not by the header's key ${header.publicKey}`,
            );
          }
        }
        break;
      }
      case "board": {
        if (board && board.seen !== board.size) boardCut(board, problem);
        if (record.board !== "players" && record.board !== "teams") {
          throw new ArchiveError(
            `line ${line}: board "${record.board}": this cairn knows the players and teams boards only`,
          );
        }
        const index = record.board === "teams" ? fold.teamIndex : fold.index;
        if (index === null) {
          problem("standings", `the archive has a teams board, but the events make a solo hunt`);
          board = undefined;
          break;
        }
        if (boards.has(record.board)) throw new ArchiveError(`line ${line}: board "${record.board}" twice`);
        boards.add(record.board);
        if (record.seq !== result.seq) {
          problem(
            "standings",
            `the ${record.board} board is at seq ${record.seq}, but the last event is seq ${result.seq}`,
          );
        }
        if (record.size !== index.size) {
          problem(
            "standings",
            `the ${record.board} board has ${record.size} entries in the archive, the events give ${index.size}`,
          );
        }
        board = { name: record.board, index, size: record.size, seen: 0, page: [], pageAt: 0 };
        break;
      }
      case "standing": {
        if (!board) throw new ArchiveError(`line ${line}: a standing before any board record`);
        const at = board.seen++;
        if (at >= board.size) throw new ArchiveError(`line ${line}: more standings than the board's size`);
        if (at >= board.pageAt + board.page.length) {
          board.pageAt = at;
          board.page = board.index.top(PAGE, at);
        }
        compareStanding(board.name, record, board.page[at - board.pageAt], at + 1, problem);
        result.standings++;
        progress(result.standings, "standings compared");
        break;
      }
      case "end": {
        if (board && board.seen !== board.size) boardCut(board, problem);
        if (!boards.has("players")) problem("standings", "the archive has no players board");
        if (fold.teamIndex !== null && !boards.has("teams")) {
          problem("standings", "the events make a team hunt, but the archive has no teams board");
        }
        if (record.events !== result.events || record.checkpoints !== result.checkpoints) {
          problem(
            "counts",
            `the end record counts ${record.events} events and ${record.checkpoints} checkpoints, the archive holds ${result.events} and ${result.checkpoints}`,
          );
        }
        break;
      }
    }
  }
  if (!folded) foldBatch();
  if (recomputed.length !== result.checkpoints) {
    const i = Math.min(recomputed.length, result.checkpoints);
    const missing = recomputed[i];
    problem(
      "checkpoint count",
      `the archive has ${result.checkpoints} checkpoints, the events give ${recomputed.length}${
        missing ? `: checkpoint ${i + 1} (seq ${missing.seq}) is missing from the archive` : ""
      }`,
    );
  }
  if (options.requireSignatures && result.signed < result.checkpoints) {
    problem(
      "unsigned",
      `${result.checkpoints - result.signed} of ${result.checkpoints} checkpoints are not signed`,
    );
  }
  result.lastChain = recomputed.at(-1)?.chain;
  result.ok = problems.length === 0;
  fold.dispose();
  return result;
}

function boardCut(
  board: { name: string; size: number; seen: number },
  problem: (k: string, m: string) => void,
) {
  problem(
    "standings",
    `the ${board.name} board says ${board.size} entries but the archive lists ${board.seen}`,
  );
}

/** Compares one archived checkpoint with the recomputed one, its own chain, and its signature. */
function checkCheckpoint(
  archived: ArchiveCheckpoint,
  i: number,
  mine: Checkpoint | undefined,
  archivedPrev: string,
  problem: (kind: string, message: string) => void,
  options: { publicKey?: string },
): void {
  const name = `checkpoint ${i + 1} (seq ${archived.seq})`;
  if (mine === undefined) {
    problem("checkpoint", `${name} is in the archive, but the events give only ${i} checkpoints`);
  } else {
    for (const field of ["seq", "events", "stateHash", "prev", "chain"] as const) {
      if (archived[field] !== mine[field]) {
        problem(
          "checkpoint",
          `${name} differs from the events: its ${field} is ${archived[field]} in the archive, ${mine[field]} recomputed (at seq ${mine.seq}, after ${mine.events} events)`,
        );
        break;
      }
    }
  }
  if (
    archived.prev !== archivedPrev ||
    archived.chain !== chainOf(archived.prev, archived.seq, archived.stateHash)
  ) {
    problem(
      "chain",
      `${name} breaks the chain: ${archived.prev !== archivedPrev ? "its prev is not the previous checkpoint's chain" : "its chain is not sha256(prev:seq:stateHash)"}`,
    );
  }
  if (archived.sig !== undefined && archived.key !== undefined) {
    if (options.publicKey !== undefined && archived.key !== options.publicKey) {
      problem("key", `${name} is signed by ${archived.key}, not by the expected key ${options.publicKey}`);
    } else if (!signatureValid(archived.chain, archived.sig, archived.key)) {
      problem("signature", `${name}: its signature does not verify with its key ${archived.key}`);
    }
  } else if (options.publicKey !== undefined) {
    problem("key", `${name} is not signed, but a signature by ${options.publicKey} was expected`);
  }
}

function compareStanding(
  board: string,
  archived: ArchiveStanding,
  mine: RankEntry | undefined,
  rank: number,
  problem: (kind: string, message: string) => void,
): void {
  const id = archived.playerId ?? archived.teamId;
  if (mine && archived.rank === rank && id === mine.playerId && archived.score === mine.score) return;
  problem(
    "standings",
    `the ${board} board differs at rank ${rank}: the archive has ${JSON.stringify(id)} with ${archived.score}${archived.rank !== rank ? ` (as rank ${archived.rank})` : ""}, the events give ${mine ? `${JSON.stringify(mine.playerId)} with ${mine.score}` : "nobody"}`,
  );
}
