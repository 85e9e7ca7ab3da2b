import { MESSAGE_FACTS, ROLLUPS, type Feed, type Rollup, type RollupSource } from "../rollups/declarations.ts";

/**
 * SQL made from the rollup declarations: the tables (for migrations and the schema check) and the
 * statements that add a set of feed rows to every rollup they feed, grouped, in one statement per
 * source. Rows are added with a weight `w` (1, or -1 to take back what was added before).
 */

const q = (name: string) => `\`${name}\``;

/** The CREATE TABLE statement of a declared rollup. */
export function rollupTableSql(rollup: Rollup): string {
  // A table fed by more than one source has measures that some rows never set.
  const fallback = rollup.sources.length > 1 ? " DEFAULT 0" : "";
  const columns = [
    `${q("workspace_id")} text NOT NULL`,
    `${q("grain")} text NOT NULL`,
    `${q("bucket")} integer NOT NULL`,
    ...rollup.keys.map((k) => `${q(k.name)} ${k.type} NOT NULL`),
    ...rollup.measures.map((m) => `${q(m)} integer${fallback} NOT NULL`),
  ];
  return [
    `CREATE TABLE ${q(rollup.table)} (`,
    ...columns.map((c) => `\t${c},`),
    `\tPRIMARY KEY (${rollup.primaryKey.map(q).join(", ")})`,
    `) WITHOUT ROWID;`,
  ].join("\n");
}

/** The table that keeps, per message, the facts last added to the message rollups. */
export function appliedFactsTableSql(): string {
  return [
    "CREATE TABLE `message_rollup_applied` (",
    "\t`workspace_id` text NOT NULL,",
    "\t`message_id` text NOT NULL,",
    ...MESSAGE_FACTS.map((f) => `\t${q(f.name)} ${f.type},`),
    "\tPRIMARY KEY (`workspace_id`, `message_id`)",
    ") WITHOUT ROWID;",
  ].join("\n");
}

/**
 * When a message has aged past a workspace's retention, as last applied: the earliest of its place in
 * reports (which includes its first click) and of the first conversion and reply it gathered. Every raw
 * click, conversion and reply a message gathers is at least this old, so a purge that deletes messages
 * first never leaves a message whose facts would be computed again from rows already deleted.
 */
export function appliedExpiryAt(alias?: string): string {
  const column = (name: string) => (alias ? `${alias}.${name}` : name);
  return `MIN(${["report_at", "converted_at", "replied_at"].map((c) => `COALESCE(${column(c)}, 9e15)`).join(", ")})`;
}

/** The index the daily purge chooses messages by; kept by the consumer, off the write path of statuses. */
export function appliedFactsIndexSql(): string {
  return `CREATE INDEX \`message_rollup_applied_expiry\` ON \`message_rollup_applied\` (\`workspace_id\`, ${appliedExpiryAt()});`;
}

/** The facts of the message `m`, in MESSAGE_FACTS order. */
export const messageFactsSelect = MESSAGE_FACTS.map((f) => `${f.expr} AS ${f.name}`).join(", ");
export const messageFactsColumns = (alias?: string) =>
  MESSAGE_FACTS.map((f) => (alias ? `${alias}.${f.name}` : f.name)).join(", ");

function grainValues(rollup: Rollup): string {
  return `(VALUES ${rollup.grains.map((g) => `('${g.name}', ${g.sizeMs})`).join(", ")})`;
}

/**
 * Adds the rows of `rows` (an SQL FROM clause that binds the feed row as `f` and its weight as
 * `f.w`) to the rollup, per grain and key. Keys blank in a grain are stored as ''.
 */
function addRowsSql(rollup: Rollup, source: RollupSource, rows: string): string {
  const blank = (key: string) => rollup.grains.filter((g) => g.blank?.includes(key)).map((g) => `'${g.name}'`);
  const fan = source.fanOut;
  const fanCase = (field: "expr" | "where") =>
    fan
      ? `CASE x.column1 ${Object.entries(fan.values)
          .map(([name, v]) => `WHEN '${name}' THEN ${v[field] ?? (field === "where" ? "1" : "NULL")}`)
          .join(" ")} END`
      : "NULL";
  const expand = (expr: string) => expr.replaceAll("x.name", "x.column1").replaceAll("x.expr", `(${fanCase("expr")})`);
  const keyExprs = rollup.keys.map((k) => {
    const expr = expand(source.keys[k.name] ?? "''");
    const blanks = blank(k.name);
    return blanks.length ? `CASE WHEN g.column1 IN (${blanks.join(", ")}) THEN '' ELSE ${expr} END` : expr;
  });
  const measures = rollup.measures.filter((m) => m in source.measures);
  const sums = measures.map((m) => `SUM(f.w * (${source.measures[m]}))`);
  const groupBy = Array.from({ length: 3 + rollup.keys.length }, (_, i) => i + 1).join(", ");
  const where = [source.where, fan ? fanCase("where") : null].filter(Boolean).join(" AND ") || "1";
  return `INSERT INTO ${rollup.table} (workspace_id, grain, bucket, ${[...rollup.keys.map((k) => k.name), ...measures].join(", ")})
SELECT f.workspace_id, g.column1, ${source.time} / g.column2, ${[...keyExprs, ...sums].join(", ")}
FROM ${rows}
${source.joins ?? ""}
CROSS JOIN ${grainValues(rollup)} AS g${
    fan
      ? `\nCROSS JOIN (VALUES ${Object.keys(fan.values)
          .map((v) => `('${v}')`)
          .join(", ")}) AS x`
      : ""
  }
WHERE ${where}
GROUP BY ${groupBy}
HAVING ${sums.map((s) => `${s} <> 0`).join(" OR ")}
ON CONFLICT DO UPDATE SET ${measures.map((m) => `${m} = ${m} + excluded.${m}`).join(", ")}`;
}

/** Every statement that adds rows of `feed` (the FROM clause `rows`) to the rollups it feeds. */
export function addToRollupsSql(feed: Feed, rows: string): string[] {
  const statements: string[] = [];
  for (const rollup of Object.values(ROLLUPS) as Rollup[]) {
    for (const source of rollup.sources) {
      if (source.feed === feed) statements.push(addRowsSql(rollup, source, rows));
    }
  }
  return statements;
}
