import { and, eq } from "drizzle-orm";
import type { Db } from "./client";
import { atPositionSql, movePosition, sliceBoundsSql, sliceRange } from "./consumer-slice";
import { pageByRowid } from "./pages";
import {
  webhookDeliveries,
  webhookEndpoints,
  type WebhookDeliveryRow,
  type WebhookEndpointRow,
  type WebhookEventType,
} from "./schema";

/**
 * Outbound webhooks' SQL. The webhooks' consumer reads the outbox past its own position
 * (pipeline_positions 'webhooks'); each event becomes one delivery per subscribed endpoint.
 */

export const WEBHOOKS_CONSUMER = "webhooks";

// --- Endpoints

export async function insertEndpoint(db: Db, row: WebhookEndpointRow): Promise<void> {
  await db.insert(webhookEndpoints).values(row);
}

export async function countEndpoints(db: Db, workspaceId: string): Promise<number> {
  return db.$count(webhookEndpoints, eq(webhookEndpoints.workspaceId, workspaceId));
}

export async function findEndpoint(db: Db, workspaceId: string, id: string): Promise<WebhookEndpointRow | null> {
  const [row] = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.workspaceId, workspaceId), eq(webhookEndpoints.id, id)))
    .limit(1);
  return row ?? null;
}

export function listEndpoints(db: Db, workspaceId: string, query: { cursor?: string; limit: number }) {
  return pageByRowid(db, webhookEndpoints, eq(webhookEndpoints.workspaceId, workspaceId), query);
}

/** Deletes an endpoint with its deliveries (its log too); says whether it existed. */
export async function deleteEndpoint(d1: D1Database, workspaceId: string, id: string): Promise<boolean> {
  const [, deleted] = await d1.batch([
    d1.prepare("DELETE FROM webhook_deliveries WHERE endpoint_id = ?2 AND workspace_id = ?1").bind(workspaceId, id),
    d1.prepare("DELETE FROM webhook_endpoints WHERE workspace_id = ?1 AND id = ?2").bind(workspaceId, id),
  ]);
  return deleted.meta.changes > 0;
}

export function listDeliveries(db: Db, endpointId: string, query: { cursor?: string; limit: number }) {
  return pageByRowid(db, webhookDeliveries, eq(webhookDeliveries.endpointId, endpointId), query);
}

/**
 * Puts an endpoint's failed deliveries (all, or those named) back in the queue, due now, and enables
 * the endpoint again; says how many.
 */
export async function replayDeliveries(
  d1: D1Database,
  endpointId: string,
  ids: string[] | undefined,
  now: number,
): Promise<number> {
  const [replayed] = await d1.batch([
    d1
      .prepare(
        `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_at = ?2, lease_until = 0, updated_at = ?2
         WHERE endpoint_id = ?1 AND status = 'failed' AND (?3 IS NULL OR id IN (SELECT value FROM json_each(?3)))`,
      )
      .bind(endpointId, now, ids ? JSON.stringify(ids) : null),
    d1
      .prepare("UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL WHERE id = ?1")
      .bind(endpointId),
  ]);
  return replayed.meta.changes;
}

// --- The consumer

const TYPES = `('link.clicked', 'conversion.created', 'message.delivered', 'message.read', 'message.replied', 'message.failed')`;

const SLICE = `WITH slice AS (
  SELECT seq, workspace_id, type, subject_id, occurred_at FROM outbox
  WHERE seq > (SELECT seq FROM pipeline_positions WHERE consumer = '${WEBHOOKS_CONSUMER}')
    AND type IN ${TYPES}
    AND workspace_id IN (SELECT workspace_id FROM webhook_endpoints WHERE disabled_at IS NULL)
  ORDER BY seq LIMIT ?1)`;

const SLICE_BOUNDS = sliceBoundsSql(SLICE, WEBHOOKS_CONSUMER);

// A click's or conversion's message: the one it names, else the recipient's own link's.
const messageOf = (alias: string, link: string) => `COALESCE(
    (SELECT m.id FROM messages m WHERE m.workspace_id = ${alias}.workspace_id AND m.id = ${alias}.message_id),
    (SELECT m.id FROM messages m WHERE m.workspace_id = ${alias}.workspace_id AND m.link_code = ${link}.code
       AND m.contact_hash = ${link}.contact_hash LIMIT 1))`;

// A click's or conversion's external id: its message's, else its link's.
const withExternalId = (select: string) => `SELECT x.*, COALESCE(
    (SELECT m.external_id FROM messages m WHERE m.workspace_id = x."workspaceId" AND m.id = x."messageId"),
    x."linkExternalId") AS "externalId" FROM (${select}) x`;

const SLICE_CLICKS = `${SLICE} ${withExternalId(`SELECT s.seq, c.id, c.workspace_id AS "workspaceId", c.occurred_at AS "occurredAt",
    c.contact_hash AS "contactHash", c.campaign_id AS "campaignId", c.variant, l.code AS "linkCode",
    ${messageOf("c", "l")} AS "messageId", l.external_id AS "linkExternalId", c.country, c.device_type AS "device",
    c.os, c.browser
  FROM slice s CROSS JOIN clicks c ON c.id = s.subject_id LEFT JOIN links l ON l.id = c.link_id
  WHERE s.type = 'link.clicked'`)}`;

const SLICE_CONVERSIONS = `${SLICE} ${withExternalId(`SELECT s.seq, v.id, v.workspace_id AS "workspaceId", v.event,
    v.occurred_at AS "occurredAt", v.order_id AS "orderId", v.value, v.currency, v.contact_hash AS "contactHash",
    v.click_id AS "clickId", v.link_code AS "linkCode", v.campaign_id AS "campaignId", v.variant,
    ${messageOf("v", "l")} AS "messageId", l.external_id AS "linkExternalId"
  FROM slice s CROSS JOIN conversions v ON v.id = s.subject_id LEFT JOIN links l ON l.id = v.link_id
  WHERE s.type = 'conversion.created'`)}`;

const SLICE_MESSAGES = `${SLICE} SELECT s.seq, s.type, s.occurred_at AS "occurredAt", m.id,
    m.workspace_id AS "workspaceId", m.contact_hash AS "contactHash", m.campaign_id AS "campaignId", m.variant,
    m.link_code AS "linkCode", m.external_id AS "externalId", m.errors
  FROM slice s CROSS JOIN messages m ON m.workspace_id = s.workspace_id AND m.id = s.subject_id
  WHERE s.type LIKE 'message.%'`;

const SLICE_ENDPOINTS = `${SLICE} SELECT id, workspace_id AS "workspaceId", events FROM webhook_endpoints
  WHERE disabled_at IS NULL AND workspace_id IN (SELECT workspace_id FROM slice)`;

export type SliceClick = {
  seq: number;
  id: string;
  workspaceId: string;
  occurredAt: number;
  contactHash: string | null;
  campaignId: string | null;
  variant: string | null;
  linkCode: string | null;
  messageId: string | null;
  linkExternalId: string | null;
  externalId: string | null;
  country: string | null;
  device: string | null;
  os: string | null;
  browser: string | null;
};

export type SliceConversion = {
  seq: number;
  id: string;
  workspaceId: string;
  event: string;
  occurredAt: number;
  orderId: string | null;
  value: number | null;
  currency: string | null;
  contactHash: string | null;
  clickId: string | null;
  linkCode: string | null;
  campaignId: string | null;
  variant: string | null;
  messageId: string | null;
  linkExternalId: string | null;
  externalId: string | null;
};

export type SliceMessage = {
  seq: number;
  type: WebhookEventType;
  occurredAt: number;
  id: string;
  workspaceId: string;
  contactHash: string | null;
  campaignId: string | null;
  variant: string | null;
  linkCode: string | null;
  externalId: string | null;
  errors: string | null;
};

export type WebhookSlice = {
  from: number;
  to: number;
  clicks: SliceClick[];
  conversions: SliceConversion[];
  messages: SliceMessage[];
  endpoints: { id: string; workspaceId: string; events: WebhookEventType[] }[];
};

/** The next entries (at most `limit`) the endpoints are to hear of, with their facts and the endpoints. */
export async function readWebhookSlice(d1: D1Database, limit: number): Promise<WebhookSlice> {
  const [bounds, clicks, conversions, messages, endpoints] = await d1.batch([
    d1.prepare(SLICE_BOUNDS).bind(limit),
    d1.prepare(SLICE_CLICKS).bind(limit),
    d1.prepare(SLICE_CONVERSIONS).bind(limit),
    d1.prepare(SLICE_MESSAGES).bind(limit),
    d1.prepare(SLICE_ENDPOINTS).bind(limit),
  ]);
  return {
    ...sliceRange(bounds.results[0], limit),
    clicks: clicks.results as SliceClick[],
    conversions: conversions.results as SliceConversion[],
    messages: messages.results as SliceMessage[],
    endpoints: (endpoints.results as { id: string; workspaceId: string; events: string }[]).map((e) => ({
      ...e,
      events: JSON.parse(e.events) as WebhookEventType[],
    })),
  };
}

export type NewDelivery = Pick<
  WebhookDeliveryRow,
  "id" | "endpointId" | "workspaceId" | "type" | "subjectId" | "contactHash" | "payload"
>;

const AT_POSITION = atPositionSql(WEBHOOKS_CONSUMER, "?2");

/** Records a slice's deliveries (due now) and moves the consumer past it, in one transaction; says whether it moved. */
export async function recordWebhookSlice(
  d1: D1Database,
  slice: Pick<WebhookSlice, "from" | "to">,
  deliveries: NewDelivery[],
  now: number,
): Promise<boolean> {
  const rows = deliveries.map((d) => [
    d.id,
    d.endpointId,
    d.workspaceId,
    d.type,
    d.subjectId,
    d.contactHash,
    d.payload,
  ]);
  const results = await d1.batch([
    d1
      .prepare(
        `INSERT INTO webhook_deliveries (id, endpoint_id, workspace_id, type, subject_id, contact_hash, payload, status,
           attempts, next_at, lease_until, created_at, updated_at)
         SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, 'pending', 0, ?3, 0, ?3, ?3
         FROM json_each(?1) WHERE ${AT_POSITION}`,
      )
      .bind(JSON.stringify(rows), slice.from, now),
    movePosition(d1, WEBHOOKS_CONSUMER, slice, now),
  ]);
  return results[1].meta.changes > 0;
}

// --- The sender

/** How long a sender holds the deliveries it claimed: longer than a turn's requests can take. */
export const LEASE_MS = 300_000;

export type ClaimedDelivery = WebhookDeliveryRow & {
  url: string | null;
  secret: string | null;
  disabled: boolean;
};

/** Claims up to `limit` due deliveries, oldest due first, counting the attempt; answers them with their endpoints. */
export async function claimDueDeliveries(d1: D1Database, now: number, limit: number): Promise<ClaimedDelivery[]> {
  const [claimed] = await d1.batch([
    d1
      .prepare(
        `UPDATE webhook_deliveries SET attempts = attempts + 1, lease_until = ?2 + ${LEASE_MS}, updated_at = ?2
         WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_at <= ?2 AND lease_until <= ?2
           ORDER BY next_at LIMIT ?1)
         RETURNING id, endpoint_id AS endpointId, workspace_id AS workspaceId, type, subject_id AS subjectId,
           contact_hash AS contactHash, payload, status, attempts, next_at AS nextAt, lease_until AS leaseUntil,
           response_status AS responseStatus, error, created_at AS createdAt, updated_at AS updatedAt,
           delivered_at AS deliveredAt,
           (SELECT url FROM webhook_endpoints e WHERE e.id = endpoint_id) AS url,
           (SELECT secret FROM webhook_endpoints e WHERE e.id = endpoint_id) AS secret,
           (SELECT disabled_at IS NOT NULL FROM webhook_endpoints e WHERE e.id = endpoint_id) AS disabled`,
      )
      .bind(limit, now),
  ]);
  return (claimed.results as (Omit<ClaimedDelivery, "disabled"> & { disabled: number | null })[]).map((r) => ({
    ...r,
    disabled: Boolean(r.disabled),
  }));
}

export type DeliveryOutcome =
  | { id: string; outcome: "delivered"; status: number }
  | { id: string; outcome: "retry"; status: number | null; error: string | null; nextAt: number }
  | { id: string; outcome: "failed"; status: number | null; error: string | null };

/** Records what became of claimed deliveries, and disables the endpoints that answered 410, in one transaction. */
export async function settleDeliveries(
  d1: D1Database,
  outcomes: DeliveryOutcome[],
  gone: { endpointId: string; reason: string }[],
  now: number,
): Promise<void> {
  const rows = outcomes.map((o) => [
    o.id,
    o.outcome === "delivered" ? "delivered" : o.outcome === "retry" ? "pending" : "failed",
    o.status,
    o.outcome === "delivered" ? null : o.error,
    o.outcome === "retry" ? o.nextAt : null,
  ]);
  const statements = [
    d1
      .prepare(
        `UPDATE webhook_deliveries SET status = o.status, response_status = o.response_status, error = o.error,
           next_at = COALESCE(o.next_at, webhook_deliveries.next_at), lease_until = 0, updated_at = ?2,
           delivered_at = CASE WHEN o.status = 'delivered' THEN ?2 ELSE delivered_at END
         FROM (SELECT value->>0 AS id, value->>1 AS status, value->>2 AS response_status, value->>3 AS error,
                 value->>4 AS next_at FROM json_each(?1)) o
         WHERE webhook_deliveries.id = o.id AND webhook_deliveries.status = 'pending'`,
      )
      .bind(JSON.stringify(rows), now),
  ];
  for (const { endpointId, reason } of gone) {
    statements.push(
      d1
        .prepare(
          "UPDATE webhook_endpoints SET disabled_at = ?2, disabled_reason = ?3 WHERE id = ?1 AND disabled_at IS NULL",
        )
        .bind(endpointId, now, reason),
      d1
        .prepare(
          `UPDATE webhook_deliveries SET status = 'failed', error = 'The endpoint is disabled', lease_until = 0,
             updated_at = ?2
           WHERE endpoint_id = ?1 AND status = 'pending'`,
        )
        .bind(endpointId, now),
    );
  }
  await d1.batch(statements);
}

/** The earliest time a pending delivery is due, if any. */
export async function nextDeliveryDue(d1: D1Database): Promise<number | null> {
  const row = await d1
    .prepare(`SELECT MIN(MAX(next_at, lease_until)) AS due FROM webhook_deliveries WHERE status = 'pending'`)
    .first<{ due: number | null }>();
  return row?.due ?? null;
}
