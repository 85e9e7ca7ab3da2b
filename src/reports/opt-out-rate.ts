import { countOptOuts } from "../db/reports/opt-outs";
import type { ReportFilter } from "./range";
import { ratio } from "./stats";
import type { D1Handle } from "../db/client";

/**
 * Contacts who opted out of marketing in the range, as a share of the contacts sent a marketing message
 * (category `marketing` or `marketing_lite`, registered or from WhatsApp's pricing) in it; null when
 * none was. Workspace-wide: opt-outs belong to no campaign.
 */
export async function optOutRate(d1: D1Handle, filter: ReportFilter): Promise<number | null> {
  const counts = await countOptOuts(d1, filter.workspaceId, filter.from, filter.to);
  return ratio(counts.optedOut, counts.marketingContacts);
}
