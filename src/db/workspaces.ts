import { eq } from "drizzle-orm";
import { decryptJson, encryptJson } from "../lib/crypto";
import { toIso } from "../schemas/common";
import type { SettingsInput } from "../schemas/workspaces";
import { toStatement, type Db } from "./client";
import { apiKeys, workspaces, type WorkspaceRow, type WorkspaceSecrets, type WorkspaceSettings } from "./schema";

export const defaultSettings: WorkspaceSettings = {
  clickIdParam: "wa_cid",
  attributionWindowDays: 7,
  clickDedupSeconds: 3600,
  allowedOrigins: [],
  retentionDays: 400,
  timezone: "UTC",
  defaultCountry: null,
  ga4MeasurementId: null,
};

/** Settings added later are missing from older workspaces' rows until they are changed. */
export function withDefaultSettings(settings: Partial<WorkspaceSettings>): WorkspaceSettings {
  return { ...defaultSettings, ...settings };
}

/** A workspace row's settings column, as raw SQL reads it. */
export function parseSettings(json: string): WorkspaceSettings {
  return withDefaultSettings(JSON.parse(json) as Partial<WorkspaceSettings>);
}

export async function readSecrets(dataKey: string, row: Pick<WorkspaceRow, "secrets">): Promise<WorkspaceSecrets> {
  return row.secrets ? decryptJson<WorkspaceSecrets>(dataKey, row.secrets) : {};
}

/** Applies a settings patch: secrets go into the encrypted blob, `null` clears a section. */
export async function mergeSettings(
  dataKey: string,
  current: Pick<WorkspaceRow, "settings" | "secrets">,
  patch: SettingsInput,
): Promise<Pick<WorkspaceRow, "settings" | "secrets">> {
  const { whatsapp, ga4, ...plain } = patch;
  const settings: WorkspaceSettings = { ...withDefaultSettings(current.settings), ...plain };
  const secrets = await readSecrets(dataKey, current);
  if (whatsapp === null) {
    delete secrets.whatsappAppSecret;
    delete secrets.whatsappVerifyToken;
  } else if (whatsapp) {
    if (whatsapp.appSecret !== undefined) secrets.whatsappAppSecret = whatsapp.appSecret;
    if (whatsapp.verifyToken !== undefined) secrets.whatsappVerifyToken = whatsapp.verifyToken;
  }
  if (ga4 === null) {
    settings.ga4MeasurementId = null;
    delete secrets.ga4ApiSecret;
    delete settings.ga4Consent;
    delete settings.ga4DebugMode;
  } else if (ga4) {
    if (ga4.measurementId !== undefined) settings.ga4MeasurementId = ga4.measurementId;
    if (ga4.apiSecret !== undefined) secrets.ga4ApiSecret = ga4.apiSecret;
    if (ga4.consent !== undefined) settings.ga4Consent = ga4.consent;
    if (ga4.debugMode !== undefined) settings.ga4DebugMode = ga4.debugMode;
  }
  const hasSecrets = Object.keys(secrets).length > 0;
  return { settings, secrets: hasSecrets ? await encryptJson(dataKey, secrets) : null };
}

/**
 * The public view of a workspace: secrets appear only as whether they are set. `ga4Enabled` says whether
 * it can actually send to GA4 (src/ga4/target.ts).
 */
export async function serializeWorkspace(dataKey: string, row: WorkspaceRow, ga4Enabled: boolean) {
  const secrets = await readSecrets(dataKey, row);
  const { ga4MeasurementId, ga4Consent, ga4DebugMode, rateCard, ...settings } = withDefaultSettings(row.settings);
  return {
    id: row.id,
    name: row.name,
    publishableKey: row.publishableKey,
    settings: {
      ...settings,
      rateCard: rateCard
        ? { currency: rateCard.currency, rates: rateCard.rates.map((r) => ({ ...r, price: Number(r.price) })) }
        : null,
      whatsapp: {
        appSecretSet: Boolean(secrets.whatsappAppSecret),
        verifyTokenSet: Boolean(secrets.whatsappVerifyToken),
      },
      ga4: {
        measurementId: ga4MeasurementId,
        apiSecretSet: Boolean(secrets.ga4ApiSecret),
        enabled: ga4Enabled,
        consent: ga4Consent ?? { adUserData: "denied", adPersonalization: "denied" },
        debugMode: ga4DebugMode ?? false,
      },
    },
    createdAt: toIso(row.createdAt)!,
  };
}

export async function findWorkspace(db: Db, id: string): Promise<WorkspaceRow | null> {
  const [row] = await db.select().from(workspaces).where(eq(workspaces.id, id)).limit(1);
  return row ? { ...row, settings: withDefaultSettings(row.settings) } : null;
}

/** The statements that create a workspace with its first API key, to batch with others. */
export function insertWorkspaceStatements(
  d1: D1Database,
  db: Db,
  workspace: WorkspaceRow,
  firstKey: typeof apiKeys.$inferInsert,
): D1PreparedStatement[] {
  return [
    toStatement(d1, db.insert(workspaces).values(workspace)),
    toStatement(d1, db.insert(apiKeys).values(firstKey)),
  ];
}

/** The statement that renames a workspace or stores its merged settings, to batch with others. */
export function updateWorkspaceStatement(
  d1: D1Database,
  db: Db,
  id: string,
  changes: Pick<WorkspaceRow, "name" | "settings" | "secrets">,
): D1PreparedStatement {
  return toStatement(d1, db.update(workspaces).set(changes).where(eq(workspaces.id, id)));
}
