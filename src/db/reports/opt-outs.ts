import { QUARTER_MS } from "../../lib/calendar";
import { chainContacts, MARKETING_CHAIN } from "./quarter-chains";
import type { D1Handle } from "../client";

/**
 * Contacts who opted out in [from, to) (of marketing, or of everything, which includes it), and
 * contacts sent a marketing message in it; both ends on quarter hours. Opt-outs are few and are read
 * from their own index; the contacts sent marketing are counted as rows of marketing_quarters, mostly
 * read as whole days, so the cost does not grow with the messages in the range.
 */
export async function countOptOuts(
  d1: D1Handle,
  workspaceId: string,
  from: number,
  to: number,
): Promise<{ optedOut: number; marketingContacts: number }> {
  const marketing = chainContacts(MARKETING_CHAIN, workspaceId, [from / QUARTER_MS, to / QUARTER_MS]);
  const row = await d1
    .prepare(
      `SELECT (SELECT COUNT(DISTINCT contact_hash) FROM consents INDEXED BY consents_opt_outs
          WHERE workspace_id = ? AND opted_in = 0 AND occurred_at >= ? AND occurred_at < ?) AS optedOut,
        ${marketing.sql} AS marketingContacts`,
    )
    .bind(workspaceId, from, to, ...marketing.binds)
    .first<{ optedOut: number; marketingContacts: number }>();
  return { optedOut: row?.optedOut ?? 0, marketingContacts: row?.marketingContacts ?? 0 };
}
