// The client side of the query subjects: one request to `hunt.<id>.query.<op>` with a clear error
// when nobody answers or the engine answers an error.
import type { NatsConnection } from "@nats-io/transport-node";
import { assertHuntId } from "./errors.ts";

/** An error reply from the engine, or no reply at all. */
export class QueryFailedError extends Error {
  constructor(
    /** `no_responders`, `timeout`, or the engine's error code (unknown_hunt, invalid_request, …). */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "QueryFailedError";
  }
}

/** Sends one query and returns the reply body; throws QueryFailedError on an error reply or silence. */
export async function queryHunt<T = Record<string, unknown>>(
  nc: NatsConnection,
  huntId: string,
  op: string,
  body: Record<string, unknown> = {},
  timeoutMs = 5000,
): Promise<T> {
  assertHuntId(huntId);
  let reply: { json<R>(): R };
  try {
    reply = await nc.request(`hunt.${huntId}.query.${op}`, JSON.stringify(body), { timeout: timeoutMs });
  } catch (err) {
    const message = (err as Error).message;
    if (/no responders/i.test(message)) {
      throw new QueryFailedError(
        "no_responders",
        "no engine answers queries on this NATS server (is `cairn serve` running?)",
      );
    }
    throw new QueryFailedError("timeout", `no reply within ${timeoutMs} ms: ${message}`);
  }
  const parsed = reply.json<T & { error?: { code: string; message: string } }>();
  if (parsed && typeof parsed === "object" && "error" in parsed && parsed.error) {
    throw new QueryFailedError(parsed.error.code, parsed.error.message);
  }
  return parsed;
}
