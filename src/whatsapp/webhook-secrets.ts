import { readWorkspaceSettings, type CachedWorkspace } from "../db/workspace-settings";
import { readSecrets } from "../db/workspaces";

export type WebhookSecrets = { appSecret: string | null; verifyToken: string | null };

// Webhooks arrive in bursts: secrets are decrypted once per cached workspace, and go with it when the
// settings cache forgets it.
const decrypted = new WeakMap<CachedWorkspace, Promise<WebhookSecrets>>();

function decryptWebhookSecrets(dataKey: string, workspace: CachedWorkspace): Promise<WebhookSecrets> {
  let secrets = decrypted.get(workspace);
  if (!secrets) {
    secrets = readSecrets(dataKey, { secrets: workspace.sealedSecrets }).then(
      (stored) => ({ appSecret: stored.whatsappAppSecret ?? null, verifyToken: stored.whatsappVerifyToken ?? null }),
      (err: unknown) => {
        decrypted.delete(workspace);
        throw err;
      },
    );
    decrypted.set(workspace, secrets);
  }
  return secrets;
}

export async function findWebhookSecrets(env: Env, workspaceId: string): Promise<WebhookSecrets | null> {
  const workspace = await readWorkspaceSettings(env.DB, workspaceId);
  return workspace ? decryptWebhookSecrets(env.DATA_KEY, workspace) : null;
}
