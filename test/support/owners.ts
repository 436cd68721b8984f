// The partition leases as the engines wrote them in the ownership bucket, for tests that move partitions.
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { OWNERS_BUCKET } from "../../actors/index.ts";

/** The engine id holding each partition's lease; a partition without a live lease is absent. */
export async function partitionOwners(
  nc: NatsConnection,
  partitions: number,
): Promise<Record<number, string>> {
  const kv = await new Kvm(nc).open(OWNERS_BUCKET);
  const result: Record<number, string> = {};
  for (let p = 0; p < partitions; p++) {
    const entry = await kv.get(`p.${p}`);
    if (entry?.operation === "PUT" && entry.value.length > 0)
      result[p] = entry.json<{ owner: string }>().owner;
  }
  return result;
}
