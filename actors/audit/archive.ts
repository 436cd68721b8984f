// The hunt archive (schemas/CONTRACT.md, "Archive"): one NDJSON file, gzipped when its name ends in
// .gz, holding a hunt's inputs exactly as stored, its checkpoints and its final standings. This file
// is the format alone: writing records, and reading them back with errors that name the line.
import { once } from "node:events";
import {
  closeSync,
  createReadStream,
  createWriteStream,
  openSync,
  readSync,
  renameSync,
  rmSync,
} from "node:fs";
import { createInterface } from "node:readline";
import type { Writable } from "node:stream";
import { createGunzip, createGzip } from "node:zlib";
import type { CheckpointMessage } from "../hunt/index.ts";

/** The archive format's name and version, in its first line. */
export const ARCHIVE_FORMAT = "cairn-archive";
export const ARCHIVE_VERSION = 1;

/** The first line. */
export interface ArchiveHeader {
  format: typeof ARCHIVE_FORMAT;
  version: typeof ARCHIVE_VERSION;
  /** The hunt id. */
  hunt: string;
  /** When the archive was written (ISO 8601, UTC); informational, not verified. */
  exportedAt?: string;
  /** The public key the stored checkpoints carry, when they are signed (raw 32 bytes, base64). */
  publicKey?: string;
}

/** One input of the hunt, exactly as stored in HUNT_EVENTS. */
export interface ArchiveEvent {
  kind: "event";
  /** Its HUNT_EVENTS stream sequence. */
  seq: number;
  /** Its JetStream time, whole milliseconds since the epoch, computed exactly. */
  time: number;
  /** Its headers; `Nats-Msg-Id` is absent when it was published without one. */
  headers: Record<string, string>;
  /** The body as published: `body` when it is valid UTF-8, otherwise `bodyBase64`. */
  body?: string;
  bodyBase64?: string;
}

/** One stored checkpoint, its fields as published. */
export type ArchiveCheckpoint = { kind: "checkpoint" } & CheckpointMessage;

/** The start of one board's final standings; `size` entries follow. */
export interface ArchiveBoard {
  kind: "board";
  /** `players`, or `teams` for a team hunt's team board (after the players'). */
  board: string;
  /** The input sequence the standings are at: the last event of the archive. */
  seq: number;
  size: number;
}

/** One entry of a board, rank 1 first. */
export interface ArchiveStanding {
  kind: "standing";
  rank: number;
  /** `playerId` on the players board, `teamId` on the team board. */
  playerId?: string;
  teamId?: string;
  score: number;
}

/** The last line: how many events and checkpoints the archive holds (a cut file has none). */
export interface ArchiveEnd {
  kind: "end";
  events: number;
  checkpoints: number;
}

/** An archive that cannot be read; the message names the line. */
export class ArchiveError extends Error {
  readonly code = "bad_archive";
  constructor(message: string) {
    super(message);
    this.name = "ArchiveError";
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The archive record of one stored input. */
export function archiveEvent(
  seq: number,
  time: number,
  msgId: string | null,
  data: Uint8Array,
): ArchiveEvent {
  const headers: Record<string, string> = msgId === null ? {} : { "Nats-Msg-Id": msgId };
  try {
    return { kind: "event", seq, time, headers, body: utf8.decode(data) };
  } catch {
    return { kind: "event", seq, time, headers, bodyBase64: Buffer.from(data).toString("base64") };
  }
}

/** The body bytes of an archived input. */
export function eventBody(e: ArchiveEvent): Uint8Array {
  return e.body !== undefined ? Buffer.from(e.body, "utf8") : Buffer.from(e.bodyBase64 ?? "", "base64");
}

/**
 * Writes an archive: records are appended in order and the file appears under its name only once
 * `close` succeeds (it is written beside it first), so a failed export leaves no partial archive.
 */
export class ArchiveWriter {
  private readonly partial: string;
  private readonly file: Writable;
  private readonly out: Writable;

  constructor(private readonly path: string) {
    this.partial = `${path}.partial`;
    this.file = createWriteStream(this.partial, { mode: 0o644 });
    if (path.endsWith(".gz")) {
      this.out = createGzip();
      this.out.pipe(this.file);
    } else {
      this.out = this.file;
    }
  }

  /** Appends records, one line each; waits when the file is behind. */
  async write(records: readonly object[]): Promise<void> {
    if (records.length === 0) return;
    let text = "";
    for (const r of records) text += `${JSON.stringify(r)}\n`;
    if (!this.out.write(text)) await once(this.out, "drain");
  }

  /** Finishes the file and gives it its name. */
  async close(): Promise<void> {
    const finished = once(this.file, "close");
    this.out.end();
    await finished;
    renameSync(this.partial, this.path);
  }

  /** Drops the partial file (after a failure). */
  abort(): void {
    this.out.destroy();
    this.file.destroy();
    rmSync(this.partial, { force: true });
  }
}

/** What a reader gets, line by line after the header. */
export type ArchiveRecord = ArchiveEvent | ArchiveCheckpoint | ArchiveBoard | ArchiveStanding | ArchiveEnd;

/** Whether the file starts with the gzip magic bytes (read by content, whatever its name). */
function isGzip(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads an archive: the header, then every record with its line number, each checked for the
 * fields its kind needs and for the order of the sections (events, checkpoints, boards, end).
 */
export async function openArchive(path: string): Promise<{
  header: ArchiveHeader;
  records: AsyncGenerator<{ line: number; record: ArchiveRecord }>;
}> {
  let gz: boolean;
  try {
    gz = isGzip(path);
  } catch (err) {
    throw new ArchiveError(
      `cannot open "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const file = createReadStream(path);
  const input = gz ? file.pipe(createGunzip()) : file;
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })[Symbol.asyncIterator]();
  let failure: Error | undefined;
  const fail = (err: Error) => {
    failure ??= err;
  };
  file.on("error", fail);
  input.on("error", fail);
  const next = async (): Promise<string | undefined> => {
    try {
      const r = await lines.next();
      if (failure) throw failure;
      return r.done ? undefined : r.value;
    } catch (err) {
      throw new ArchiveError(
        `"${path}" cannot be read${gz ? " as gzip" : ""}: ${(failure ?? (err as Error)).message}`,
      );
    }
  };
  const first = await next();
  if (first === undefined) throw new ArchiveError(`"${path}" is empty: it is not a Cairn archive`);
  const header = parseLine(first, 1) as Partial<ArchiveHeader>;
  if (header.format !== ARCHIVE_FORMAT) {
    throw new ArchiveError(
      `line 1: not a Cairn archive (its first line has no "format": "${ARCHIVE_FORMAT}")`,
    );
  }
  if (header.version !== ARCHIVE_VERSION) {
    throw new ArchiveError(
      `line 1: archive version ${JSON.stringify(header.version)}; this cairn reads version ${ARCHIVE_VERSION}`,
    );
  }
  if (typeof header.hunt !== "string" || header.hunt === "") throw new ArchiveError('line 1: no "hunt" id');
  async function* records(): AsyncGenerator<{ line: number; record: ArchiveRecord }> {
    let line = 1;
    let section = 0;
    let lastSeq = 0;
    let ended = false;
    for (let text = await next(); text !== undefined; text = await next()) {
      line++;
      if (text.trim() === "") continue;
      if (ended) throw new ArchiveError(`line ${line}: a record after the end record`);
      const record = checkRecord(parseLine(text, line) as ArchiveRecord, line);
      const order = SECTION[record.kind];
      if (order < section) {
        throw new ArchiveError(`line ${line}: a ${record.kind} record after the ${SECTION_NAMES[section]}`);
      }
      section = order;
      if (record.kind === "event") {
        if (record.seq <= lastSeq) {
          throw new ArchiveError(`line ${line}: event seq ${record.seq} does not follow seq ${lastSeq}`);
        }
        lastSeq = record.seq;
      }
      if (record.kind === "end") ended = true;
      yield { line, record };
    }
    if (!ended)
      throw new ArchiveError(`"${path}" ends at line ${line} without its end record: it is cut short`);
  }
  return { header: header as ArchiveHeader, records: records() };
}

const SECTION: Record<ArchiveRecord["kind"], number> = {
  event: 0,
  checkpoint: 1,
  board: 2,
  standing: 2,
  end: 3,
};
const SECTION_NAMES = ["events", "checkpoints", "standings", "end record"];

function parseLine(text: string, line: number): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ArchiveError(`line ${line}: not JSON (${(err as Error).message})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ArchiveError(`line ${line}: not a JSON object`);
  }
  return value;
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const HEX64 = /^[0-9a-f]{64}$/;

/** Checks a record has what its kind needs; returns it. */
function checkRecord(r: ArchiveRecord, line: number): ArchiveRecord {
  const bad = (what: string): never => {
    throw new ArchiveError(`line ${line}: ${r.kind ? `a ${r.kind} record` : "a record"} ${what}`);
  };
  switch (r.kind) {
    case "event":
      if (!isCount(r.seq) || r.seq < 1) bad("needs seq, a whole number ≥ 1");
      if (!isCount(r.time)) bad("needs time, whole milliseconds");
      if (r.headers === null || typeof r.headers !== "object" || Array.isArray(r.headers))
        bad("needs headers");
      for (const v of Object.values(r.headers))
        if (typeof v !== "string") bad("has a header that is not a string");
      if (typeof r.body !== "string" && typeof r.bodyBase64 !== "string") bad("needs body or bodyBase64");
      return r;
    case "checkpoint":
      if (!isCount(r.seq) || !isCount(r.events)) bad("needs seq and events, whole numbers");
      for (const f of ["stateHash", "prev", "chain"] as const) {
        if (typeof r[f] !== "string" || !HEX64.test(r[f])) bad(`needs ${f}, 64 lowercase hex digits`);
      }
      if ((r.sig === undefined) !== (r.key === undefined)) bad("has one of sig and key without the other");
      if (r.sig !== undefined && (typeof r.sig !== "string" || typeof r.key !== "string"))
        bad("has a sig or key that is not a string");
      return r;
    case "board":
      if (typeof r.board !== "string" || !isCount(r.seq) || !isCount(r.size))
        bad("needs board, seq and size");
      return r;
    case "standing":
      if (!isCount(r.rank) || !Number.isSafeInteger(r.score)) bad("needs rank and score, whole numbers");
      if (typeof (r.playerId ?? r.teamId) !== "string") bad("needs playerId or teamId");
      return r;
    case "end":
      if (!isCount(r.events) || !isCount(r.checkpoints)) bad("needs events and checkpoints, whole numbers");
      return r;
    default:
      throw new ArchiveError(
        `line ${line}: unknown record kind ${JSON.stringify((r as { kind?: unknown }).kind)} (event, checkpoint, board, standing or end)`,
      );
  }
}
