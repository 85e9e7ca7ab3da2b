import type { AudienceStage } from "../db/audience-stages";
import { findAudienceMessages, type AudiencePosition } from "../db/audiences";
import { findCampaign } from "../db/campaigns";
import type { D1Handle, Db } from "../db/client";
import { ApiError } from "../errors";
import { toIso } from "../schemas/common";

export type AudienceQuery = {
  workspaceId: string;
  campaignId: string;
  stage: AudienceStage;
  cursor?: string;
  limit: number;
};

/** A message of an audience, as the API shows it: what a CRM needs to follow up, and no contact. */
export type AudienceMessage = {
  messageId: string;
  externalId: string | null;
  linkCode: string | null;
  variant: string | null;
  reachedAt: string;
};

export type AudiencePage = { messages: AudienceMessage[]; nextCursor: string | null };

// Opaque to clients; inside, the last message's stage time and rowid (a keyset, so a deep page
// costs what the first does).
export function encodeAudienceCursor({ reachedAt, rowid }: AudiencePosition): string {
  return btoa(`a${reachedAt}.${rowid}`).replace(/=+$/, "");
}

export function decodeAudienceCursor(cursor: string | undefined): AudiencePosition | null {
  if (cursor === undefined) return null;
  let decoded = "";
  try {
    decoded = atob(cursor);
  } catch {
    // fall through to the error below
  }
  const match = decoded.match(/^a(\d{1,15})\.(\d{1,15})$/);
  if (!match) {
    throw new ApiError("invalid_request", "The cursor is not valid.", [
      { path: ["cursor"], message: "Not a cursor of this audience" },
    ]);
  }
  return { reachedAt: Number(match[1]), rowid: Number(match[2]) };
}

/**
 * One page of the messages of a campaign at a stage, in the order they reached it. The campaign must
 * be the workspace's: an unknown one is refused rather than answered with an empty audience, which
 * would look like a campaign nobody is left to follow up in.
 */
export async function readAudience(db: Db, d1: D1Handle, query: AudienceQuery): Promise<AudiencePage> {
  const after = decodeAudienceCursor(query.cursor);
  if (!(await findCampaign(db, query.workspaceId, query.campaignId))) {
    throw new ApiError("invalid_request", "The request is invalid; see issues.", [
      { path: ["campaignId"], message: "No such campaign in this workspace" },
    ]);
  }
  const rows = await findAudienceMessages(d1, { ...query, after, limit: query.limit + 1 });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    messages: page.map((row) => ({
      messageId: row.messageId,
      externalId: row.externalId,
      linkCode: row.linkCode,
      variant: row.variant,
      reachedAt: toIso(row.reachedAt)!,
    })),
    nextCursor: rows.length > query.limit && last ? encodeAudienceCursor(last) : null,
  };
}
