import type * as z from "../schemas/zod";
import type { DeadLetter } from "../db/dead-letters";
import {
  QueueMessageSchema,
  StoredConsentSchema,
  StoredInboundSchema,
  StoredStatusSchema,
  type QueueMessage,
} from "../schemas/queue";

type Issues = { path: PropertyKey[]; message: string }[];

const describeIssues = (issues: Issues) =>
  issues
    .slice(0, 3)
    .map((issue) => `${issue.path.map(String).join(".") || "body"}: ${issue.message}`)
    .join("; ");

const workspaceOf = (value: unknown): string | null => {
  const id = (value as { workspaceId?: unknown } | null)?.workspaceId;
  return typeof id === "string" ? id.slice(0, 64) : null;
};

/**
 * A queue message checked against the schemas. Of a WhatsApp message, each event is checked on its
 * own: the events that fail become dead letters of their own workspace, the rest are written.
 */
export function readQueueMessage(raw: unknown): { body: QueueMessage | null; letters: DeadLetter[] } {
  const parsed = QueueMessageSchema.safeParse(raw);
  if (parsed.success) return { body: parsed.data, letters: [] };
  const events = (
    raw as { type?: unknown; events?: { statuses?: unknown; inbound?: unknown; consents?: unknown } } | null
  )?.events;
  if (
    (raw as { type?: unknown } | null)?.type === "whatsapp" &&
    Array.isArray(events?.statuses) &&
    Array.isArray(events?.inbound) &&
    (events.consents === undefined || Array.isArray(events.consents))
  ) {
    const letters: DeadLetter[] = [];
    const keep = <T>(items: unknown[], schema: z.ZodMiniType<T>, kind: "status" | "inbound" | "consent"): T[] =>
      items.flatMap((item) => {
        const event = schema.safeParse(item);
        if (event.success) return [event.data];
        letters.push({
          workspaceId: workspaceOf(item),
          kind,
          reason: `Not a valid ${kind} (${describeIssues(event.error.issues)})`,
          payload: item,
        });
        return [];
      });
    const statuses = keep(events.statuses, StoredStatusSchema, "status");
    const inbound = keep(events.inbound, StoredInboundSchema, "inbound");
    const consents = keep((events.consents as unknown[] | undefined) ?? [], StoredConsentSchema, "consent");
    const empty = statuses.length === 0 && inbound.length === 0 && consents.length === 0;
    return { body: empty ? null : { type: "whatsapp", events: { statuses, inbound, consents } }, letters };
  }
  return {
    body: null,
    letters: [
      {
        workspaceId: workspaceOf(raw) ?? workspaceOf((raw as { click?: unknown } | null)?.click),
        kind: "queue_message",
        reason: `Not a valid queue message (${describeIssues(parsed.error.issues)})`,
        payload: raw,
      },
    ],
  };
}
