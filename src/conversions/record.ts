import type { Db } from "../db/client";
import { findClick, findLastClickOfContact, insertConversion, type Attribution } from "../db/conversions";
import type { ConversionSource, Ga4Consent, WorkspaceSettings } from "../db/schema";
import { DAY_MS, MINUTE_MS } from "../lib/calendar";
import { hashContact } from "../lib/contact";
import { newId } from "../lib/ids";

// A conversion reported a little before its click (clocks differ) still belongs to it.
const CLOCK_SKEW_MS = 5 * MINUTE_MS;

export type ConversionRequest = {
  clickId?: string;
  contact?: string;
  event: string;
  value: number | null;
  valueMinor: number | null;
  currency: string | null;
  orderId?: string;
  occurredAt?: number;
  gaClientId?: string;
  gaSessionId?: string;
  consent?: Ga4Consent;
};

type Workspace = { id: string; settings: WorkspaceSettings };

/**
 * Attribution: the given click if it lies within the window; otherwise the contact's last human
 * click within the window; otherwise none (the conversion is kept, unattributed).
 */
async function attribute(
  env: Env,
  workspace: Workspace,
  request: ConversionRequest,
  contactHash: string | null,
  at: number,
) {
  const from = at - workspace.settings.attributionWindowDays * DAY_MS;
  const to = at + CLOCK_SKEW_MS;
  let click: Attribution | null = null;
  if (request.clickId) click = await findClick(env.DB, workspace.id, request.clickId, from, to);
  if (!click && contactHash) click = await findLastClickOfContact(env.DB, workspace.id, contactHash, from, to);
  return click;
}

export async function recordConversion(
  env: Env,
  db: Db,
  workspace: Workspace,
  request: ConversionRequest,
  source: ConversionSource,
) {
  const at = request.occurredAt ?? Date.now();
  const contactHash = request.contact ? await hashContact(env.PII_PEPPER, request.contact) : null;
  const attribution = await attribute(env, workspace, request, contactHash, at);
  const { row, duplicate } = await insertConversion(db, {
    id: newId("cnv"),
    workspaceId: workspace.id,
    event: request.event,
    orderId: request.orderId ?? null,
    value: request.value,
    valueMinor: request.valueMinor,
    currency: request.currency,
    source,
    attribution,
    contactHash,
    gaClientId: request.gaClientId ?? null,
    gaSessionId: request.gaSessionId ?? null,
    adUserData: request.consent?.adUserData ?? null,
    adPersonalization: request.consent?.adPersonalization ?? null,
    occurredAt: at,
  });
  return {
    id: row.id,
    duplicate,
    attributedTo:
      row.clickId && row.linkCode
        ? {
            clickId: row.clickId,
            linkCode: row.linkCode,
            campaignId: row.campaignId,
            variant: row.variant,
            messageId: row.messageId,
          }
        : null,
  };
}
