import { createRoute, z } from "@hono/zod-openapi";
import { and, eq, getTableColumns, gt, gte, lt, or, sql, type SQL } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import { clicks, conversions, messages } from "../db/schema";
import { ApiError } from "../errors";
import { csvRow } from "../lib/csv";
import { createRouter } from "../lib/openapi";
import { requireApiKey } from "../middleware/auth";
import { bearerSecurity, errorResponses, isoDateTime, toIso } from "../schemas/common";
import { deriveMessageState, type ObservedSteps } from "../whatsapp/message-state";

export const exportRoutes = createRouter();

const PAGE_SIZE = 1000;

type ExportFilter = {
  workspaceId: string;
  from: number | null;
  to: number | null;
  campaignIds?: string[];
  variant?: string;
};
type Row = Record<string, unknown>;

/**
 * One exportable table, read a page at a time on a keyset of an index that starts with the workspace,
 * so each query costs one page however deep the export is. (Bare rowid order would not do: clicks and
 * conversions index (workspace_id, occurred_at), and SQLite would sort the whole workspace per page.)
 */
type ExportTable = {
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

// Neither visitor_hash nor contact_hash is exported: both are keyed identifiers of people.
const clickExport = timeOrderedExport(
  "clicks",
  "Every visit to a link (human clicks, link previews, bots)",
  clicks,
  fieldList(`id occurredAt linkId linkCode campaignId variant messageId kind isUnique
    country deviceType os browser referrerHost userAgent`),
  // Spelled out: drizzle leaves a lone table's columns unqualified, which inside a subquery could bind to links.
  { linkCode: sql`(SELECT code FROM links WHERE links.id = clicks.link_id)` },
);

const conversionExport = timeOrderedExport(
  "conversions",
  "Every conversion, with the click, link, campaign and message it was attributed to",
  conversions,
  fieldList(`id occurredAt event orderId value currency source clickId linkCode
    campaignId variant messageId gaClientId`),
);

const messageFacts = fieldList("id campaignId variant linkCode externalId category country");
const messageSteps = fieldList("sentAt deliveredAt readAt failedAt clickedAt");
const messageOutcomes = fieldList("convertedAt repliedAt");

// Messages walk their primary key (workspace_id, id): report_at has no index of its own, so a range
// only filters. Without a range, messages not yet placed in time (no step seen) are exported too.
const messageExport: ExportTable = {
  name: "messages",
  summary: "Every message with its status and steps, inferred steps filled in as `GET /messages/{id}` shows them",
  columns: [...messageFacts, "status", ...messageSteps, ...messageOutcomes, "revenue"],
  page: (db, f, last) =>
    db
      .select(selection(messages, [...messageFacts, ...messageSteps, ...messageOutcomes, "revenueMicros"]))
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
    );
  },
};

type ExportFormat = "csv" | "ndjson";

function formatRows(table: ExportTable, rows: Row[], format: ExportFormat): string {
  return rows
    .map((row) => {
      const values = table.values(row);
      if (format === "csv") return csvRow(values);
      return `${JSON.stringify(Object.fromEntries(table.columns.map((column, i) => [column, values[i]])))}\n`;
    })
    .join("");
}

/**
 * The export as a byte stream that keeps at most one page ahead of the client (the stream asks for
 * more only once the client has taken what was queued), so memory stays flat however many rows there are. The first page is read before answering, so a
 * failing query is a 500 rather than a 200 with an empty body; a later failure aborts the stream, so a
 * client can tell a broken export from a complete one.
 */
async function streamExport(table: ExportTable, db: Db, filter: ExportFilter, format: ExportFormat) {
  const encoder = new TextEncoder();
  let page = await table.page(db, filter, null);
  let header = format === "csv" ? csvRow(table.columns) : "";
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const text = header + formatRows(table, page, format);
        header = "";
        if (text) controller.enqueue(encoder.encode(text));
        if (page.length < PAGE_SIZE) return controller.close();
        page = await table.page(db, filter, page[page.length - 1]);
      } catch (err) {
        console.error(JSON.stringify({ event: "export_failed", table: table.name, error: String(err) }));
        controller.error(err);
      }
    },
  });
}

const ExportQuery = z.object({
  format: z.enum(["csv", "ndjson"]).optional().openapi({
    description: "Defaults to `csv`; without it, `Accept: application/x-ndjson` asks for NDJSON",
  }),
  from: isoDateTime.optional().openapi({ description: "Rows at or after this time" }),
  to: isoDateTime.optional().openapi({ description: "Rows before this time" }),
  campaignId: z
    .union([z.string().min(1).max(64), z.array(z.string().min(1).max(64)).max(100)])
    .transform((value) => (Array.isArray(value) ? value : [value]))
    .optional()
    .openapi({ type: "array", items: { type: "string" }, description: "Repeatable: `?campaignId=a&campaignId=b`" }),
  variant: z.string().min(1).max(64).optional(),
});

function chooseFormat(format: ExportFormat | undefined, accept = ""): ExportFormat {
  if (format) return format;
  return accept.includes("application/x-ndjson") && !accept.includes("text/csv") ? "ndjson" : "csv";
}

function toFilter(workspaceId: string, query: z.infer<typeof ExportQuery>): ExportFilter {
  const from = query.from === undefined ? null : Date.parse(query.from);
  const to = query.to === undefined ? null : Date.parse(query.to);
  if (from !== null && to !== null && to <= from) {
    throw new ApiError("invalid_request", "The range is empty.", [{ path: ["to"], message: "Must be after from" }]);
  }
  return { workspaceId, from, to, campaignIds: query.campaignId, variant: query.variant };
}

for (const table of [clickExport, conversionExport, messageExport]) {
  exportRoutes.openapi(
    createRoute({
      security: bearerSecurity,
      tags: ["Exports"],
      method: "get",
      path: `/export/${table.name}`,
      summary: table.summary,
      description: `Raw rows, streamed as CSV or NDJSON, with the fields ${table.columns.map((c) => `\`${c}\``).join(", ")}.`,
      middleware: [requireApiKey("reports:read")],
      request: { query: ExportQuery },
      responses: {
        200: {
          description: "The rows",
          content: { "text/csv": { schema: z.string() }, "application/x-ndjson": { schema: z.string() } },
        },
        ...errorResponses(400, 401, 403),
      },
    }),
    async (c) => {
      const query = c.req.valid("query");
      const format = chooseFormat(query.format, c.req.header("accept"));
      const body = await streamExport(table, c.var.db, toFilter(c.var.auth.workspace.id, query), format);
      return c.body(body, 200, {
        "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson",
        "content-disposition": `attachment; filename="${table.name}.${format}"`,
        "cache-control": "no-store",
      });
    },
  );
}
