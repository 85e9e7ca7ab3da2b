import { caughtUp } from "../middleware/caught-up";
import type { Db } from "../db/client";
import {
  clickExport,
  conversionExport,
  messageExport,
  PAGE_SIZE,
  type ExportFilter,
  type ExportTable,
  type Row,
} from "../db/exports";
import { csvRow } from "../lib/csv";
import { doc } from "../lib/openapi";
import { createRoute, createRouter } from "../middleware/validation";
import { requireApiKey } from "../middleware/auth";
import { checkTimeZone, resolveExportBounds } from "../reports/range";
import { bearerSecurity, errorResponses } from "../schemas/common";
import { ReportQuery } from "../schemas/reports";
import * as z from "../schemas/zod";
import { loggableError } from "../lib/loggable-error";

export const exportRoutes = createRouter();

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
        console.error(JSON.stringify({ event: "export_failed", table: table.name, error: loggableError(err) }));
        controller.error(err);
      }
    },
  });
}

// The reports' common parameters (dates mean local midnight in `timezone`), with the export's formats.
const ExportQuery = z.extend(
  z.pick(ReportQuery, { from: true, to: true, campaignId: true, variant: true, timezone: true }),
  {
    format: doc(z.optional(z.enum(["csv", "ndjson"])), {
      description: "Defaults to `csv`; without it, `Accept: application/x-ndjson` asks for NDJSON",
    }),
  },
);

function chooseFormat(format: ExportFormat | undefined, accept = ""): ExportFormat {
  if (format) return format;
  return accept.includes("application/x-ndjson") && !accept.includes("text/csv") ? "ndjson" : "csv";
}

function toFilter(workspaceId: string, query: z.infer<typeof ExportQuery>): ExportFilter {
  const bounds = resolveExportBounds(query, checkTimeZone(query.timezone));
  return { workspaceId, ...bounds, campaignIds: query.campaignId, variant: query.variant };
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
      middleware: [requireApiKey("reports:read"), caughtUp],
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
