import { and, eq } from "drizzle-orm";
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
