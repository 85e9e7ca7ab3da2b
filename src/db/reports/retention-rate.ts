import { chainContacts, chainPairs, RETENTION_CHAIN, type QuarterSpan } from "./quarter-chains";
import type { D1Handle } from "../client";

/**
 * Contacts active in `range` whose previous active quarter hour lies in `previous` (`retained`), and
 * contacts active in `previous` at all (`previous`). A contact's first active quarter hour in a span is
 * the one whose previous active quarter hour lies before it, so both are counts of rows, mostly read
 * as whole days. `previous` must end where `range` starts.
 */
export async function countReturningContacts(
  d1: D1Handle,
  workspaceId: string,
  range: QuarterSpan,
  previous: QuarterSpan,
): Promise<{ retained: number; previous: number } | null> {
  const retained = chainPairs(RETENTION_CHAIN, workspaceId, range, previous);
  const previousContacts = chainContacts(RETENTION_CHAIN, workspaceId, previous);
  const sql = `SELECT ${retained.sql} AS retained, ${previousContacts.sql} AS previous`;
  return d1
    .prepare(sql)
    .bind(...retained.binds, ...previousContacts.binds)
    .first<{ retained: number; previous: number }>();
}
