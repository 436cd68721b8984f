// Reads what the engine stored: every message on one subject of an output stream, in order.
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";

/** All messages stored on `subject` in `stream`, parsed as JSON, with their Nats-Msg-Id. */
export async function readSubject<T = Record<string, unknown>>(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  subject: string,
): Promise<{ body: T; msgId: string | undefined }[]> {
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  const count = info.state.subjects?.[subject] ?? 0;
  if (count === 0) return [];
  const consumer = await js.consumers.get(stream, { filter_subjects: subject });
  const out: { body: T; msgId: string | undefined }[] = [];
  while (out.length < count) {
    const batch = await consumer.fetch({ max_messages: Math.min(1000, count - out.length), expires: 2000 });
    let got = 0;
    for await (const m of batch) {
      out.push({ body: m.json<T>(), msgId: m.headers?.get("Nats-Msg-Id") });
      got++;
    }
    if (got === 0) break;
  }
  return out;
}
