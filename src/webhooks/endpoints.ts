import type { Db } from "../db/client";
import { countEndpoints, insertEndpoint } from "../db/webhooks";
import type { WebhookEndpointRow, WebhookEventType } from "../db/schema";
import { encryptJson } from "../lib/crypto";
import { isNonPublicDestination, normalizeDestination } from "../lib/destination";
import { newId } from "../lib/ids";
import { newWebhookSecret } from "../lib/standard-webhooks";

/** Endpoints a workspace may have at once. */
export const MAX_ENDPOINTS = 20;

export type EndpointRefusal = { code: "invalid_url" | "too_many"; message: string };

/**
 * Where a webhook may be sent: an https URL of a public host; http and loopback or private hosts only
 * when the Worker runs for local development.
 */
export function checkTarget(env: Pick<Env, "ENVIRONMENT">, input: string): { url: string } | EndpointRefusal {
  const checked = normalizeDestination(input);
  if (!checked.ok) return { code: "invalid_url", message: checked.reason };
  if (env.ENVIRONMENT === "development") return { url: checked.url };
  if (!checked.url.startsWith("https:")) return { code: "invalid_url", message: "Webhook targets must be https" };
  if (isNonPublicDestination(checked.url)) {
    return { code: "invalid_url", message: "The host is a loopback, private, link-local or metadata address" };
  }
  return { url: checked.url };
}

/** Creates an endpoint; answers it with its secret, which is stored only sealed and shown only now. */
export async function createEndpoint(
  env: Env,
  db: Db,
  workspaceId: string,
  input: { url: string; events: WebhookEventType[] },
): Promise<{ endpoint: WebhookEndpointRow; secret: string } | EndpointRefusal> {
  const target = checkTarget(env, input.url);
  if (!("url" in target)) return target;
  if ((await countEndpoints(db, workspaceId)) >= MAX_ENDPOINTS) {
    return { code: "too_many", message: `A workspace has at most ${MAX_ENDPOINTS} webhook endpoints.` };
  }
  const secret = newWebhookSecret();
  const endpoint: WebhookEndpointRow = {
    id: newId("whe"),
    workspaceId,
    url: target.url,
    events: [...new Set(input.events)],
    secret: await encryptJson(env.DATA_KEY, secret),
    createdAt: Date.now(),
    disabledAt: null,
    disabledReason: null,
  };
  await insertEndpoint(db, endpoint);
  return { endpoint, secret };
}
