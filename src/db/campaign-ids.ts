/** Which of `ids` name campaigns of the workspace. */
export async function findCampaignIds(
  d1: D1Database,
  workspaceId: string,
  ids: readonly string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { results } = await d1
    .prepare("SELECT id FROM campaigns WHERE workspace_id = ?1 AND id IN (SELECT value FROM json_each(?2))")
    .bind(workspaceId, JSON.stringify(ids))
    .all<{ id: string }>();
  return new Set(results.map((r) => r.id));
}
