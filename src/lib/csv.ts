// Spreadsheets run a cell that starts with one of these as a formula (CSV injection); a leading
// quote makes them show it as text. Only strings get it: a negative number is data, not a formula.
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  let text = typeof value === "string" ? value : JSON.stringify(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One RFC 4180 record, ending in CRLF. */
export function csvRow(values: readonly unknown[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}

/** A whole CSV document: the header line, then one line per row. */
export function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return csvRow(header) + rows.map(csvRow).join("");
}
