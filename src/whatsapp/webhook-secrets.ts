import { readSecrets } from "../db/workspaces";
import { TtlCache } from "../lib/ttl-cache";

export type WebhookSecrets = { appSecret: string | null; verifyToken: string | null };

// Webhooks arrive in bursts: the decrypted secrets are kept in this isolate for a short while.
const TTL_MS = 30_000;
const cache = new TtlCache<WebhookSecrets | null>(TTL_MS, 10_000);

export async function findWebhookSecrets(env: Env, workspaceId: string): Promise<WebhookSecrets | null> {
  const hit = cache.get(workspaceId);
  if (hit !== undefined) return hit;
  const row = await env.DB.prepare("SELECT secrets FROM workspaces WHERE id = ?1")
    .bind(workspaceId)
    .first<{ secrets: string | null }>();
  let secrets: WebhookSecrets | null = null;
  if (row) {
    const stored = await readSecrets(env.DATA_KEY, row);
    secrets = { appSecret: stored.whatsappAppSecret ?? null, verifyToken: stored.whatsappVerifyToken ?? null };
  }
  cache.set(workspaceId, secrets);
  return secrets;
}

/** Call when a workspace's WhatsApp secrets change. */
export function forgetWebhookSecrets(workspaceId: string): void {
  cache.delete(workspaceId);
}
