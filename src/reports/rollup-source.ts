import { rollupSpans, type ReportFilter } from "./range";

export type SqlPart = { sql: string; params: unknown[] };

/**
 * The rows of a rollup table that make up the filter's range: whole UTC days from the 'd' grain and
 * the quarter hours at either edge from 'q', each read as one range scan of the primary key
 * (workspace_id, grain, bucket, …). Parameters are numbered from `firstParam`.
 */
export function rollupSource(
  table: string,
  columns: string,
  filter: ReportFilter,
  options: { campaign?: boolean; variant?: boolean } = { campaign: true, variant: true },
): SqlPart {
  const spans = rollupSpans(filter);
  const ranges: [string, number, number][] = [
    ...(spans.days ? [["d", ...spans.days] as [string, number, number]] : []),
    ...spans.quarters.map(([a, b]) => ["q", a, b] as [string, number, number]),
  ];
  const params: unknown[] = [filter.workspaceId];
  const extra: string[] = [];
  if (options.campaign && filter.campaignIds.length > 0) {
    params.push(JSON.stringify(filter.campaignIds));
    extra.push(`AND campaign_id IN (SELECT value FROM json_each(?${params.length}))`);
  }
  if (options.variant && filter.variant !== null) {
    params.push(filter.variant);
    extra.push(`AND variant = ?${params.length}`);
  }
  const selects = ranges.map(([grain, from, to]) => {
    params.push(from, to);
    return `SELECT ${columns} FROM ${table} WHERE workspace_id = ?1 AND grain = '${grain}'
      AND bucket >= ?${params.length - 1} AND bucket < ?${params.length} ${extra.join(" ")}`;
  });
  return { sql: `(${selects.join(" UNION ALL ")})`, params };
}
