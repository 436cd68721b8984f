// Reads a hunt's stored checkpoints back from HUNT_CHECKPOINTS (for `cairn replay --verify` and
// `cairn export`): each as the exact text the engine published, with its Nats-Msg-Id.
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { assertHuntId } from "./errors.ts";
import { CHECKPOINTS_STREAM } from "./setup.ts";

/** One checkpoint message as stored. */
export interface StoredCheckpoint {
  /** Its sequence in HUNT_CHECKPOINTS. */
  streamSeq: number;
  /** Its Nats-Msg-Id (`<id>:<input seq>:<n>`), or null. */
  msgId: string | null;
  /** The body exactly as stored (JSON). */
  body: string;
}

const decoder = new TextDecoder();

/** Every checkpoint stored for the hunt, in stream order; empty when it has none. */
export async function readCheckpoints(
  nc: NatsConnection,
  huntId: string,
  jsm?: JetStreamManager,
): Promise<StoredCheckpoint[]> {
  assertHuntId(huntId);
  const subject = `hunt.${huntId}.checkpoints`;
  const manager = jsm ?? (await jetstreamManager(nc));
  const last = await manager.direct.getMessage(CHECKPOINTS_STREAM, { last_by_subj: subject });
  if (!last) return [];
  const consumer = await jetstream(nc).consumers.get(CHECKPOINTS_STREAM, { filter_subjects: subject });
  const out: StoredCheckpoint[] = [];
  const messages = await consumer.consume({ max_messages: 256 });
  try {
    for await (const m of messages) {
      out.push({
        streamSeq: m.seq,
        msgId: m.headers?.get("Nats-Msg-Id") || null,
        body: decoder.decode(m.data),
      });
      if (m.seq >= last.seq) break;
    }
  } finally {
    await messages.close().catch(() => {});
  }
  return out;
}
