import type { Context } from "hono";
import { toCsv } from "../../lib/csv";
import type { AppEnv } from "../../types";

export type CsvTable = { header: readonly string[]; rows: readonly (readonly unknown[])[] };

function wantsCsv(c: Context<AppEnv>, format: string | undefined): boolean {
  if (format) return format === "csv";
  return /\btext\/csv\b/.test(c.req.header("accept") ?? "");
}

/**
 * Answers with the report as JSON, or as CSV rows when `format=csv` or `Accept: text/csv` asks. A
 * report holds everything acknowledged before its `asOf` (a header of the CSV answer): the request's
 * arrival, or earlier while the rollups are catching up with a burst (see src/events/pipeline.ts).
 * `csvHeaders` carry what the JSON body holds beside the rows (a list's next cursor).
 */
export function respondReport<T extends object>(
  c: Context<AppEnv>,
  format: string | undefined,
  body: T,
  table: (body: T) => CsvTable,
  name: string,
  csvHeaders: Record<string, string> = {},
) {
  const asOf = new Date(c.var.asOf ?? c.var.receivedAt).toISOString();
  if (!wantsCsv(c, format)) return c.json({ asOf, ...body }, 200);
  const { header, rows } = table(body);
  return c.body(toCsv(header, rows), 200, {
    ...csvHeaders,
    "content-type": "text/csv; charset=utf-8",
    "content-disposition": `inline; filename="${name}.csv"`,
    "x-as-of": asOf,
  });
}
