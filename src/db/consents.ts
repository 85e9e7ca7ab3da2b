import { canonicalContactSql } from "./contact-aliases";
import { WHATSAPP_SOURCE, type OptOut } from "../lib/consent.ts";

/** A consent record as it is stored: the contact only as its hash. */
export type StoredConsent = {
  workspaceId: string;
  contactHash: string;
  optedIn: boolean;
  source: string;
  at: number;
};

// The same (contact, time, opt-in or out, source) again is the same record: a webhook delivered twice
// writes one. json_each keeps the array's order, so of two records with one time the later item holds.
export const INSERT_CONSENTS_SQL = `INSERT OR IGNORE INTO consents
  (workspace_id, contact_hash, opted_in, source, occurred_at, received_at)
SELECT value->>'workspaceId', ${canonicalContactSql("value->>'workspaceId'", "value->>'contactHash'")}, value->>'optedIn', value->>'source', value->>'at', ?2
FROM json_each(?1)`;

export async function insertConsents(d1: D1Database, records: StoredConsent[], now = Date.now()): Promise<void> {
  await d1.prepare(INSERT_CONSENTS_SQL).bind(JSON.stringify(records), now).run();
}

// Opt-outs that no later opt-in lifted: a contact has one exactly when its latest record is an opt-out.
// Records are kept under the phone number's hash once it is paired with a user id (contact_aliases).
const OPT_OUTS_SQL = `SELECT h.value AS contactHash, MAX(o.source <> '${WHATSAPP_SOURCE}') AS everything
FROM json_each(?2) h
CROSS JOIN consents o ON o.workspace_id = ?1 AND o.contact_hash = ${canonicalContactSql("?1", "h.value")} AND o.opted_in = 0
WHERE NOT EXISTS (
  SELECT 1 FROM consents i
  WHERE i.workspace_id = ?1 AND i.contact_hash = o.contact_hash AND i.opted_in = 1
    AND (i.occurred_at, i.seq) > (o.occurred_at, o.seq))
GROUP BY h.value`;

// Contacts per statement: a bulk request of 10,000 is a handful of statements in one round trip.
const CHUNK = 2_000;

/** The contacts among `contactHashes` that are opted out, with what their opt-out covers. */
export async function findOptOuts(
  d1: D1Database,
  workspaceId: string,
  contactHashes: string[],
): Promise<Map<string, OptOut>> {
  const distinct = [...new Set(contactHashes)];
  const optOuts = new Map<string, OptOut>();
  if (distinct.length === 0) return optOuts;
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < distinct.length; i += CHUNK) {
    statements.push(d1.prepare(OPT_OUTS_SQL).bind(workspaceId, JSON.stringify(distinct.slice(i, i + CHUNK))));
  }
  for (const { results } of await d1.batch<{ contactHash: string; everything: number }>(statements)) {
    for (const row of results) optOuts.set(row.contactHash, { everything: row.everything === 1 });
  }
  return optOuts;
}
