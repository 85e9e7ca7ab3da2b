import { readSecrets } from "../db/workspaces";
import type { WorkspaceRow, WorkspaceSettings } from "../db/schema";
import { DEFAULT_CONSENT, type ForwardingOptions } from "../lib/ga4-events";

/** Where a workspace's events go: GA4's collection URL for its stream, with its API secret. */
export type Ga4Target = { measurementId: string; apiSecret: string; collectUrl: string };

const DEFAULT_ENDPOINT = "https://www.google-analytics.com";

/** `<GA4_ENDPOINT>/mp/collect`, or null when GA4_ENDPOINT is not an http(s) URL. */
export function collectEndpoint(env: Pick<Env, "GA4_ENDPOINT">): string | null {
  try {
    const url = new URL(env.GA4_ENDPOINT || DEFAULT_ENDPOINT);
    if (url.protocol !== "https:" && url.protocol !== "http:") return null;
    return `${url.origin}${url.pathname.replace(/\/+$/, "")}/mp/collect`;
  } catch {
    return null;
  }
}

/**
 * The workspace's GA4 target when it can actually send: a measurement id, an API secret that opens
 * with DATA_KEY, and an endpoint. Null otherwise, with nothing thrown.
 */
export async function ga4Target(
  env: Pick<Env, "GA4_ENDPOINT" | "DATA_KEY">,
  workspace: Pick<WorkspaceRow, "secrets"> & { settings: WorkspaceSettings },
): Promise<Ga4Target | null> {
  const measurementId = workspace.settings.ga4MeasurementId;
  const endpoint = collectEndpoint(env);
  if (!measurementId || !endpoint) return null;
  let apiSecret: string | undefined;
  try {
    apiSecret = (await readSecrets(env.DATA_KEY, workspace)).ga4ApiSecret;
  } catch {
    return null;
  }
  if (!apiSecret) return null;
  const url = new URL(endpoint);
  url.searchParams.set("measurement_id", measurementId);
  url.searchParams.set("api_secret", apiSecret);
  return { measurementId, apiSecret, collectUrl: url.toString() };
}

export function forwardingOptions(settings: WorkspaceSettings): ForwardingOptions {
  return { consent: settings.ga4Consent ?? DEFAULT_CONSENT, debugMode: settings.ga4DebugMode ?? false };
}
