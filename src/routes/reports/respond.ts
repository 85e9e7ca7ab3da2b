import type { Context } from "hono";
import { toCsv } from "../../lib/csv";
import type { AppEnv } from "../../types";

export type CsvTable = { header: readonly string[]; rows: readonly (readonly unknown[])[] };

function wantsCsv(c: Context<AppEnv>, format: string | undefined): boolean {
  if (format) return format === "csv";
  return /\btext\/csv\b/.test(c.req.header("accept") ?? "");
}

/** Answers with the report as JSON, or as CSV rows when `format=csv` or `Accept: text/csv` asks. */
export function respondReport<T extends object>(
  c: Context<AppEnv>,
  format: string | undefined,
  body: T,
  table: (body: T) => CsvTable,
  name: string,
) {
  if (!wantsCsv(c, format)) return c.json(body, 200);
  const { header, rows } = table(body);
  return c.body(toCsv(header, rows), 200, {
    "content-type": "text/csv; charset=utf-8",
    "content-disposition": `inline; filename="${name}.csv"`,
  });
}
