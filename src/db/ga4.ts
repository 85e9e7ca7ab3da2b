import { and, eq } from "drizzle-orm";
import type { Db } from "./client";
import { atPositionSql, movePosition, sliceBoundsSql, sliceRange } from "./consumer-slice";
import type { ClickFacts, ConversionFacts } from "../lib/ga4-events";
import { pageByRowid } from "./pages";
import { parseSettings } from "./workspaces";
import { ga4Events, type Ga4EventRow, type WorkspaceSettings } from "./schema";

/**
 * GA4 forwarding's SQL. The GA4 consumer reads the outbox past its own position (pipeline_positions
 * 'ga4'), independently of the rollups; the events it builds wait in ga4_events until GA4 accepts them.
 */

export const GA4_CONSUMER = "ga4";

// The outbox entries GA4 is told of, of workspaces with a measurement id, after the consumer's position.
const SLICE = `WITH slice AS (
  SELECT seq, workspace_id, type, subject_id FROM outbox
  WHERE seq > (SELECT seq FROM pipeline_positions WHERE consumer = '${GA4_CONSUMER}')
    AND type IN ('link.clicked', 'conversion.created')
    AND workspace_id IN (SELECT id FROM workspaces WHERE settings->>'ga4MeasurementId' IS NOT NULL)
  ORDER BY seq LIMIT ?1)`;

// Read in one batch (one transaction): where the slice starts and ends, and what its entries are about.
const SLICE_BOUNDS = sliceBoundsSql(SLICE, GA4_CONSUMER);

const MESSAGE_CATEGORY = `COALESCE(m.category, m.pricing->>'category')`;
const SLICE_CLICKS = `${SLICE} SELECT c.id AS "clickId", c.workspace_id AS "workspaceId", c.occurred_at AS "occurredAt",
    c.contact_hash AS "contactHash", c.campaign_id AS "campaignId", c.variant, l.code AS "linkCode",
    p.name AS "campaignName",
    COALESCE(
      (SELECT ${MESSAGE_CATEGORY} FROM messages m WHERE m.workspace_id = c.workspace_id AND m.id = c.message_id),
      (SELECT ${MESSAGE_CATEGORY} FROM messages m
       WHERE m.workspace_id = c.workspace_id AND m.link_code = l.code AND m.contact_hash = l.contact_hash LIMIT 1)
    ) AS "messageCategory"
  FROM slice s CROSS JOIN clicks c ON c.id = s.subject_id
  LEFT JOIN links l ON l.id = c.link_id LEFT JOIN campaigns p ON p.id = c.campaign_id
  WHERE s.type = 'link.clicked' ORDER BY s.seq`;

const SLICE_CONVERSIONS = `${SLICE} SELECT v.id AS "conversionId", v.workspace_id AS "workspaceId", v.event,
    v.occurred_at AS "occurredAt", v.order_id AS "orderId", v.value, v.currency, v.contact_hash AS "contactHash",
    v.ga_client_id AS "gaClientId", v.ga_session_id AS "gaSessionId", v.ad_user_data AS "adUserData",
    v.ad_personalization AS "adPersonalization", v.click_id AS "clickId", c.occurred_at AS "clickAt",
    v.link_code AS "linkCode", v.campaign_id AS "campaignId", p.name AS "campaignName", v.variant
  FROM slice s CROSS JOIN conversions v ON v.id = s.subject_id
  LEFT JOIN clicks c ON c.id = v.click_id LEFT JOIN campaigns p ON p.id = v.campaign_id
  WHERE s.type = 'conversion.created' ORDER BY s.seq`;

/** A click or conversion of the slice, with the workspace and contact it belongs to. */
type Owned = { workspaceId: string; contactHash: string | null };
export type SliceClick = ClickFacts & Owned;
export type SliceConversion = Omit<ConversionFacts, "consent"> &
  Owned & { adUserData: "granted" | "denied" | null; adPersonalization: "granted" | "denied" | null };

export type Ga4Slice = {
  /** The position the slice starts after, and the one it moves the consumer to. */
  from: number;
  to: number;
  clicks: SliceClick[];
  conversions: SliceConversion[];
};

/** The next entries (at most `limit`) GA4 is to be told of, with the facts of their clicks and conversions. */
export async function readGa4Slice(d1: D1Database, limit: number): Promise<Ga4Slice> {
  const [bounds, clicks, conversions] = await d1.batch([
    d1.prepare(SLICE_BOUNDS).bind(limit),
    d1.prepare(SLICE_CLICKS).bind(limit),
    d1.prepare(SLICE_CONVERSIONS).bind(limit),
  ]);
  return {
    ...sliceRange(bounds.results[0], limit),
    clicks: clicks.results as SliceClick[],
    conversions: conversions.results as SliceConversion[],
  };
}

/** The GA4 settings of the workspaces named, with their sealed secrets. */
export async function readForwardingWorkspaces(
  d1: D1Database,
  ids: string[],
): Promise<Map<string, { settings: WorkspaceSettings; secrets: string | null }>> {
  if (ids.length === 0) return new Map();
  const { results } = await d1
    .prepare(`SELECT id, settings, secrets FROM workspaces WHERE id IN (SELECT value FROM json_each(?1))`)
    .bind(JSON.stringify(ids))
    .all<{ id: string; settings: string; secrets: string | null }>();
  return new Map(results.map((r) => [r.id, { settings: parseSettings(r.settings), secrets: r.secrets }]));
}

export type NewGa4Event = {
  id: string;
  workspaceId: string;
  kind: "click" | "conversion";
  subjectId: string;
  contactHash: string | null;
  clientId: string;
  consent: Record<string, string>;
  event: Record<string, unknown>;
  occurredAt: number;
};

const AT_POSITION = atPositionSql(GA4_CONSUMER, "?2");

/**
 * Records a slice's events (pending, due now), counts those skipped, and moves the consumer past the
 * slice, in one transaction; answers whether this call moved it.
 */
export async function recordGa4Slice(
  d1: D1Database,
  slice: Pick<Ga4Slice, "from" | "to">,
  events: NewGa4Event[],
  skipped: Map<string, number>,
  now: number,
): Promise<boolean> {
  const rows = events.map((e) => [
    e.id,
    e.workspaceId,
    e.kind,
    e.subjectId,
    e.contactHash,
    e.clientId,
    JSON.stringify(e.consent),
    JSON.stringify(e.event),
    e.occurredAt,
  ]);
  const results = await d1.batch([
    d1
      .prepare(
        `INSERT INTO ga4_events (id, workspace_id, kind, subject_id, contact_hash, client_id, consent, event,
           occurred_at, status, attempts, next_at, lease_until, created_at, updated_at)
         SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7,
           value->>8, 'pending', 0, ?3, 0, ?3, ?3
         FROM json_each(?1) WHERE ${AT_POSITION}`,
      )
      .bind(JSON.stringify(rows), slice.from, now),
    d1
      .prepare(
        `INSERT INTO ga4_totals (workspace_id, skipped) SELECT key, value FROM json_each(?1) WHERE ${AT_POSITION}
         ON CONFLICT (workspace_id) DO UPDATE SET skipped = skipped + excluded.skipped`,
      )
      .bind(JSON.stringify(Object.fromEntries(skipped)), slice.from),
    movePosition(d1, GA4_CONSUMER, slice, now),
  ]);
  return results[2].meta.changes > 0;
}

/** How long a sender holds the events it claimed before another may take them. */
export const LEASE_MS = 120_000;

/**
 * Claims up to `limit` pending events that are due, oldest due first, counting the attempt; answers
 * them. A claim is one statement, so two senders never hold the same event.
 */
export async function claimDueGa4Events(d1: D1Database, now: number, limit: number): Promise<Ga4EventRow[]> {
  const { results } = await d1
    .prepare(
      `UPDATE ga4_events SET attempts = attempts + 1, lease_until = ?2 + ${LEASE_MS}, updated_at = ?2
       WHERE id IN (SELECT id FROM ga4_events WHERE status = 'pending' AND next_at <= ?2 AND lease_until <= ?2
         ORDER BY next_at LIMIT ?1)
       RETURNING id, workspace_id AS workspaceId, kind, subject_id AS subjectId, contact_hash AS contactHash,
         client_id AS clientId, consent, event, occurred_at AS occurredAt, status, attempts, next_at AS nextAt,
         lease_until AS leaseUntil, reason, created_at AS createdAt, updated_at AS updatedAt`,
    )
    .bind(limit, now)
    .all<Omit<Ga4EventRow, "consent" | "event"> & { consent: string; event: string }>();
  return results.map((r) => ({ ...r, consent: JSON.parse(r.consent), event: JSON.parse(r.event) }));
}

/** What became of claimed events. */
export type Ga4Outcomes = {
  /** GA4 accepted them: deleted and counted as sent. */
  sent: Ga4EventRow[];
  /** Too old for GA4 by the time they could be sent: deleted and counted as skipped. */
  skipped: Ga4EventRow[];
  /** Tried, and to be tried again at `nextAt`. */
  retry: { id: string; nextAt: number; reason: string }[];
  /** Given up: kept as failed until replayed. */
  failed: { id: string; reason: string }[];
};

const countByWorkspace = (rows: Ga4EventRow[]) => {
  const counts: Record<string, number> = {};
  for (const row of rows) counts[row.workspaceId] = (counts[row.workspaceId] ?? 0) + 1;
  return JSON.stringify(counts);
};

const MAX_REASON_CHARS = 500;

/** Records what became of claimed events, in one transaction. */
export async function settleGa4Events(d1: D1Database, outcomes: Ga4Outcomes, now: number): Promise<void> {
  const ids = (rows: { id: string }[]) => JSON.stringify(rows.map((r) => r.id));
  const statements: D1PreparedStatement[] = [];
  for (const [rows, column] of [
    [outcomes.sent, "sent"],
    [outcomes.skipped, "skipped"],
  ] as const) {
    if (rows.length === 0) continue;
    statements.push(
      d1.prepare(`DELETE FROM ga4_events WHERE id IN (SELECT value FROM json_each(?1))`).bind(ids(rows)),
      d1
        .prepare(
          `INSERT INTO ga4_totals (workspace_id, ${column}) SELECT key, value FROM json_each(?1) WHERE true
           ON CONFLICT (workspace_id) DO UPDATE SET ${column} = ${column} + excluded.${column}`,
        )
        .bind(countByWorkspace(rows)),
    );
  }
  if (outcomes.retry.length > 0) {
    const retry = outcomes.retry.map((r) => [r.id, r.nextAt, r.reason.slice(0, MAX_REASON_CHARS)]);
    statements.push(
      d1
        .prepare(
          `UPDATE ga4_events SET next_at = r.next_at, reason = r.reason, lease_until = 0, updated_at = ?2
           FROM (SELECT value->>0 AS id, value->>1 AS next_at, value->>2 AS reason FROM json_each(?1)) r
           WHERE ga4_events.id = r.id AND ga4_events.status = 'pending'`,
        )
        .bind(JSON.stringify(retry), now),
    );
  }
  if (outcomes.failed.length > 0) {
    const failed = outcomes.failed.map((f) => [f.id, f.reason.slice(0, MAX_REASON_CHARS)]);
    statements.push(
      d1
        .prepare(
          `UPDATE ga4_events SET status = 'failed', reason = f.reason, lease_until = 0, updated_at = ?2
           FROM (SELECT value->>0 AS id, value->>1 AS reason FROM json_each(?1)) f
           WHERE ga4_events.id = f.id AND ga4_events.status = 'pending'`,
        )
        .bind(JSON.stringify(failed), now),
    );
  }
  if (statements.length > 0) await d1.batch(statements);
}

/** The earliest time a pending event is due, if any. */
export async function nextGa4Due(d1: D1Database): Promise<number | null> {
  const row = await d1
    .prepare(`SELECT MIN(MAX(next_at, lease_until)) AS due FROM ga4_events WHERE status = 'pending'`)
    .first<{ due: number | null }>();
  return row?.due ?? null;
}

export type Ga4Status = { pending: number; sent: number; failed: number; skipped: number };

export async function readGa4Status(d1: D1Database, workspaceId: string): Promise<Ga4Status> {
  const row = await d1
    .prepare(
      `SELECT
         (SELECT COUNT(*) FROM ga4_events WHERE workspace_id = ?1 AND status = 'pending') AS pending,
         (SELECT COUNT(*) FROM ga4_events WHERE workspace_id = ?1 AND status = 'failed') AS failed,
         COALESCE((SELECT sent FROM ga4_totals WHERE workspace_id = ?1), 0) AS sent,
         COALESCE((SELECT skipped FROM ga4_totals WHERE workspace_id = ?1), 0) AS skipped`,
    )
    .bind(workspaceId)
    .first<Ga4Status>();
  return {
    pending: Number(row?.pending ?? 0),
    sent: Number(row?.sent ?? 0),
    failed: Number(row?.failed ?? 0),
    skipped: Number(row?.skipped ?? 0),
  };
}

/** Puts failed events (all of the workspace's, or those named) back in the queue, due now; says how many. */
export async function replayGa4Events(
  d1: D1Database,
  workspaceId: string,
  ids: string[] | undefined,
  now: number,
): Promise<number> {
  const { meta } = await d1
    .prepare(
      `UPDATE ga4_events SET status = 'pending', attempts = 0, next_at = ?2, lease_until = 0, reason = NULL,
         updated_at = ?2
       WHERE workspace_id = ?1 AND status = 'failed'
         AND (?3 IS NULL OR id IN (SELECT value FROM json_each(?3)))`,
    )
    .bind(workspaceId, now, ids ? JSON.stringify(ids) : null)
    .run();
  return meta.changes;
}

export function listFailedGa4Events(db: Db, workspaceId: string, query: { cursor?: string; limit: number }) {
  return pageByRowid(db, ga4Events, and(eq(ga4Events.workspaceId, workspaceId), eq(ga4Events.status, "failed")), query);
}
