import { DAY_MS } from "./calendar";

/**
 * What may be stored of an event. Every stored time lies between 2009-01-01 (before WhatsApp) and one
 * day after the event arrived, and within its workspace's retention period; stored JSON is kept shallow
 * and small, because SQLite's JSON functions refuse nesting past 1,000 levels, and a refused value would
 * fail the whole write it travels in.
 */
export const EARLIEST_EVENT_MS = Date.UTC(2009, 0, 1);
export const MAX_AHEAD_MS = 86_400_000;

export function isStorableTime(ms: number, now: number, maxAheadMs = MAX_AHEAD_MS): boolean {
  return Number.isSafeInteger(ms) && ms >= EARLIEST_EVENT_MS && ms <= now + maxAheadMs;
}

/**
 * The earliest time a workspace stores an event at. An event older than its retention period would go
 * with the next purge, and one whose raw rows are purged already (a status of a purged message, a
 * conversion whose `(event, orderId)` was purged) would be counted a second time by the rollups, which
 * kept it: such events are refused at the boundary, or skipped and counted in a webhook.
 */
export function earliestRetainedTime(now: number, retentionDays: number): number {
  return Math.max(EARLIEST_EVENT_MS, now - retentionDays * DAY_MS);
}

export const JSON_LIMITS = { maxDepth: 8, maxBytes: 4096 } as const;

/** Whether `value` nests at most `maxDepth` arrays or objects deep and serialises to at most `maxBytes`. */
export function isBoundedJson(value: unknown, limits: { maxDepth: number; maxBytes: number } = JSON_LIMITS): boolean {
  const text = JSON.stringify(value);
  if (text === undefined || new TextEncoder().encode(text).byteLength > limits.maxBytes) return false;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== "object") continue;
    if (depth >= limits.maxDepth) return false;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return true;
}
