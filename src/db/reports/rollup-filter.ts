/** Which rows of a rollup a report reads: one workspace, and optionally some campaigns and a variant. */
export type RollupFilter = { workspaceId: string; campaignIds: readonly string[]; variant: string | null };

/**
 * The part of a rollup query that every report shares: the workspace ?1, the campaign filter ?3 (a
 * JSON array, or null for all) and the variant filter ?4 (or null).
 */
export function filterWhere(alias: string): string {
  return `${alias}.workspace_id = ?1
    AND (?3 IS NULL OR ${alias}.campaign_id IN (SELECT value FROM json_each(?3)))
    AND (?4 IS NULL OR ${alias}.variant = ?4)`;
}

/**
 * filterWhere() plus the buckets listed in ?2, a JSON array of BucketRange joined as `s`: written
 * `json_each(?2) AS s CROSS JOIN <table>` so that each range is one scan of the primary key.
 */
export function rollupWhere(alias: string): string {
  return `${filterWhere(alias)} AND ${alias}.grain = s.value->>0
    AND ${alias}.bucket >= s.value->>1 AND ${alias}.bucket < s.value->>2`;
}

/** The bindings ?1 to ?4 of rollupWhere() (or of filterWhere(), which leaves ?2 unused). */
export function rollupParams(filter: RollupFilter, ranges: readonly unknown[] | null): unknown[] {
  return [
    filter.workspaceId,
    ranges && JSON.stringify(ranges),
    filter.campaignIds.length > 0 ? JSON.stringify(filter.campaignIds) : null,
    filter.variant,
  ];
}
