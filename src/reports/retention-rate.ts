import { countReturningContacts } from "../db/reports/retention-rate";
import { QUARTER_MS } from "../lib/calendar";
import type { ReportFilter } from "./range";
import type { D1Handle } from "../db/client";

/**
 * Contacts active in [from, to) who were also active in the range of equal length before it, as a
 * share of those active in that previous range (null when nobody was). Active: a human click, a reply
 * or a conversion. Workspace-wide: replies belong to no campaign, so a campaign filter could not be
 * applied exactly.
 */
export async function retentionRate(d1: D1Handle, filter: ReportFilter): Promise<number | null> {
  const from = filter.from / QUARTER_MS;
  const to = filter.to / QUARTER_MS;
  const previousFrom = Math.max(0, from - (to - from));
  const counts = await countReturningContacts(d1, filter.workspaceId, [from, to], [previousFrom, from]);
  if (!counts || counts.previous === 0) return null;
  return counts.retained / counts.previous;
}
