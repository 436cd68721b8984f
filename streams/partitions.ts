// Hunt partitions, as nats-server's subject mapping `{{partition(n,1)}}` computes them: FNV-1a
// (32 bit) of the hunt id modulo n. With the mapping
//   mappings = { "hunt.*.events": "hunt.{{wildcard(1)}}.events.{{partition(n,1)}}" }
// publishers keep publishing `hunt.<id>.events` and the stream stores `hunt.<id>.events.<p>`.
import { assertHuntId } from "./errors.ts";

const encoder = new TextEncoder();

/** The partition (0..partitions-1) the server maps a hunt to. */
export function partitionOf(huntId: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (const byte of encoder.encode(huntId)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}

/** The subject a hunt's events are stored under: partitioned when `partitions` > 0. */
export function storedEventsSubject(huntId: string, partitions = 0): string {
  assertHuntId(huntId);
  return partitions > 0
    ? `hunt.${huntId}.events.${partitionOf(huntId, partitions)}`
    : `hunt.${huntId}.events`;
}

/** The consumer filter of one partition's events. */
export function partitionFilter(partition: number): string {
  return `hunt.*.events.${partition}`;
}

/** The server mapping line that partitions hunts `partitions` ways. */
export function partitionMapping(partitions: number): Record<string, string> {
  return { "hunt.*.events": `hunt.{{wildcard(1)}}.events.{{partition(${partitions},1)}}` };
}

/** The nats-server configuration line of that mapping (what `cairn serve --partitions` needs). */
export function partitionMappingConfig(partitions: number): string {
  return `mappings = ${JSON.stringify(partitionMapping(partitions))}\n`;
}
