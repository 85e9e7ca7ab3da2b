/**
 * SQL for the contact an event's hash stands for: the phone number's, when the hash is of a WhatsApp
 * user id known to be that number's (contact_aliases), else the hash itself. Null stays null.
 */
export const canonicalContactSql = (workspace: string, hash: string) =>
  `COALESCE((SELECT a.contact_hash FROM contact_aliases a WHERE a.workspace_id = ${workspace} AND a.alias_hash = ${hash}), ${hash})`;

/** Forgets the user ids paired with an erased contact, and the pair an erased user id was part of. */
export const DELETE_CONTACT_ALIASES_SQL = `DELETE FROM contact_aliases
WHERE workspace_id = ?1 AND (contact_hash = ?2 OR alias_hash = ?2)`;

/**
 * The hashes that stand for the same contact as `contactHash`: the phone number's, and every user id
 * paired with it; just `contactHash` when it is paired with nothing.
 */
export async function findSameContact(d1: D1Database, workspaceId: string, contactHash: string): Promise<string[]> {
  const { results } = await d1
    .prepare(
      `WITH phone AS (SELECT ${canonicalContactSql("?1", "?2")} AS hash)
       SELECT hash FROM phone
       UNION SELECT a.alias_hash FROM contact_aliases a, phone WHERE a.workspace_id = ?1 AND a.contact_hash = phone.hash`,
    )
    .bind(workspaceId, contactHash)
    .all<{ hash: string }>();
  return results.map((row) => row.hash);
}
