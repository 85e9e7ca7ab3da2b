import { and, eq, getTableColumns, gt, gte, lt, or, sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import { toIso } from "../schemas/common";
import { failureOutcome } from "../lib/whatsapp-errors";
import { deriveMessageState, type ObservedSteps } from "../whatsapp/message-state";
import type { Db } from "./client";
import { clicks, conversions, messages } from "./schema";

export const PAGE_SIZE = 1000;

export type ExportFilter = {
  workspaceId: string;
  from: number | null;
  to: number | null;
  campaignIds?: string[];
  variant?: string;
};
export type Row = Record<string, unknown>;

/**
 * One exportable table, read a page at a time on a keyset of an index that starts with the workspace,
 * so each query costs one page however deep the export is. (Bare rowid order would not do: clicks and
 * conversions index (workspace_id, occurred_at), and SQLite would sort the whole workspace per page.)
 */
export type ExportTable = {
  name: "clicks" | "conversions" | "messages";
  summary: string;
  columns: readonly string[];
  /** The page after `last`, the previous page's last row (null for the first page). */
  page(db: Db, filter: ExportFilter, last: Row | null): PromiseLike<Row[]>;
  values(row: Row): unknown[];
};

function byCampaignAndVariant(f: ExportFilter, table: { campaignId: SQLiteColumn; variant: SQLiteColumn }) {
  return [
    // json_each keeps the list one bound parameter: D1 allows 100 per query.
    f.campaignIds && sql`${table.campaignId} IN (SELECT value FROM json_each(${JSON.stringify(f.campaignIds)}))`,
    f.variant === undefined ? undefined : eq(table.variant, f.variant),
  ];
}

const fieldList = (names: string) => names.trim().split(/\s+/);

// Every `…At` column holds epoch milliseconds and is exported as ISO 8601.
const valuesOf = (row: Row, columns: readonly string[]) =>
  columns.map((key) => (key.endsWith("At") ? toIso(row[key] as number | null) : row[key]));

function selection(table: SQLiteTable, columns: readonly string[], computed: Record<string, SQL> = {}) {
  const available: Record<string, SQLiteColumn | SQL> = { ...getTableColumns(table), ...computed };
  return Object.fromEntries(columns.filter((c) => c in available).map((c) => [c, available[c]]));
}

/** Oldest first, in (occurred_at, rowid) order: the (workspace_id, occurred_at) index, whose entries end in the rowid. */
function timeOrderedExport(
  name: "clicks" | "conversions",
  summary: string,
  table: typeof clicks | typeof conversions,
  columns: readonly string[],
  computed?: Record<string, SQL>,
): ExportTable {
  const rowid = sql<number>`${table}.rowid`;
  return {
    name,
    summary,
    columns,
    page: (db, f, last) => {
      const [time, lastRowid] = last ? [last.occurredAt as number, last.rowid as number] : [f.from ?? 0, 0];
      return db
        .select({ ...selection(table, columns, computed), rowid })
        .from(table as typeof clicks)
        .where(
          and(
            eq(table.workspaceId, f.workspaceId),
            gte(table.occurredAt, time),
            or(gt(table.occurredAt, time), gt(rowid, lastRowid)),
            f.to === null ? undefined : lt(table.occurredAt, f.to),
            ...byCampaignAndVariant(f, table),
          ),
        )
        .orderBy(table.occurredAt, rowid)
        .limit(PAGE_SIZE);
    },
    values: (row) => valuesOf(row, columns),
  };
}

// Subqueries name every column with its table: drizzle leaves a lone table's columns unqualified,
// which inside a subquery could bind to the subquery's own table.

/** The business's own id for the contact of a click or conversion: its message's, else its link's. */
const externalIdOf = (table: "clicks" | "conversions") =>
  sql.raw(`COALESCE(
    (SELECT external_id FROM messages WHERE messages.workspace_id = ${table}.workspace_id AND messages.id = ${table}.message_id),
    (SELECT external_id FROM links WHERE links.id = ${table}.link_id))`);

// Neither visitor_hash nor contact_hash is exported: both are keyed identifiers of people.
export const clickExport = timeOrderedExport(
  "clicks",
  "Every visit to a link (human clicks, link previews, bots)",
  clicks,
  fieldList(`id occurredAt linkId linkCode campaignId variant messageId externalId kind isUnique
    country deviceType os browser referrerHost userAgent`),
  {
    linkCode: sql`(SELECT code FROM links WHERE links.id = clicks.link_id)`,
    externalId: externalIdOf("clicks"),
  },
);

export const conversionExport = timeOrderedExport(
  "conversions",
  "Every conversion, with the click, link, campaign and message it was attributed to",
  conversions,
  fieldList(`id occurredAt event orderId value currency source clickId linkCode
    campaignId variant messageId externalId gaClientId`),
  { externalId: externalIdOf("conversions") },
);

const messageFacts = fieldList("id campaignId variant linkCode externalId category country");
const messageSteps = fieldList("sentAt deliveredAt readAt failedAt clickedAt");
const messageOutcomes = fieldList("convertedAt repliedAt");

// Messages walk their primary key (workspace_id, id): report_at has no index of its own, so a range
// only filters. Without a range, messages not yet placed in time (no step seen) are exported too.
export const messageExport: ExportTable = {
  name: "messages",
  summary:
    "Every message with its status and steps, inferred steps filled in as `GET /messages/{id}` shows them; " +
    "`outcome` says what a failed message's failure was: `limited` (131049), `experiment` (130472) or `failed`",
  // `outcome` comes last, so that the columns BI tools already read keep their places.
  columns: [...messageFacts, "status", ...messageSteps, ...messageOutcomes, "revenue", "outcome"],
  page: (db, f, last) =>
    db
      .select(
        selection(messages, [...messageFacts, ...messageSteps, ...messageOutcomes, "revenueMicros", "errorsText"], {
          // As stored: drizzle's JSON column would throw on a row an older version stored damaged.
          errorsText: sql`messages.errors`,
        }),
      )
      .from(messages)
      .where(
        and(
          eq(messages.workspaceId, f.workspaceId),
          last ? gt(messages.id, last.id as string) : undefined,
          f.from === null ? undefined : gte(messages.reportAt, f.from),
          f.to === null ? undefined : lt(messages.reportAt, f.to),
          ...byCampaignAndVariant(f, messages),
        ),
      )
      .orderBy(messages.id)
      .limit(PAGE_SIZE),
  values: (row) => {
    const state = deriveMessageState(row as ObservedSteps);
    return [...valuesOf(row, messageFacts), state.status, ...valuesOf(state, messageSteps)].concat(
      valuesOf(row, messageOutcomes),
      (row.revenueMicros as number) / 1e6,
      state.status === "failed" ? failureOutcome(row.errorsText) : null,
    );
  },
};
