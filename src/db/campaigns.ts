import { and, eq } from "drizzle-orm";
import type { ErrorIssue } from "../errors";
import { toIso } from "../schemas/common";
import type { Db } from "./client";
import { campaigns, type CampaignRow } from "./schema";

export function serializeCampaign(row: CampaignRow) {
  return {
    id: row.id,
    name: row.name,
    variants: row.variants,
    template: row.template,
    createdAt: toIso(row.createdAt)!,
  };
}

export async function findCampaign(db: Db, workspaceId: string, id: string): Promise<CampaignRow | null> {
  const [row] = await db
    .select()
    .from(campaigns)
    .where(and(eq(campaigns.id, id), eq(campaigns.workspaceId, workspaceId)))
    .limit(1);
  return row ?? null;
}

/** Whether `variant` may be used with a campaign that has `variants` (null: there is no campaign). */
export function variantIssue(
  variants: string[] | null,
  variant: string | undefined,
  path: ErrorIssue["path"],
): ErrorIssue | null {
  if (variant === undefined) return null;
  if (!variants) return { path, message: "A variant needs a campaign" };
  if (variants.length > 0 && !variants.includes(variant)) {
    return { path, message: `Not a variant of this campaign (${variants.join(", ")})` };
  }
  return null;
}
