import { createRoute, z } from "@hono/zod-openapi";
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
import { ApiError } from "../errors";
import { csvRow } from "../lib/csv";
import { createRouter } from "../middleware/validation";
import { requireApiKey } from "../middleware/auth";
import { bearerSecurity, errorResponses, isoDateTime } from "../schemas/common";

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
