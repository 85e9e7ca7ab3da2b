import { Hono } from "hono";
import { ApiError } from "../errors";
import { readWorkspaceSettings } from "../db/workspace-settings";
import { secretsEqual } from "../lib/crypto";
import { earliestRetainedTime } from "../lib/event-bounds";
import type { AppEnv } from "../types";
import { storeWhatsAppEvents } from "../events/write";
import { toStoredEvents } from "../whatsapp/ingest";
import { verifyHubSignature } from "../whatsapp/signature";
import { ingestCounts, readWebhookEvents, WebhookBody } from "../whatsapp/webhook-body";
import { findWebhookSecrets } from "../whatsapp/webhook-secrets";

export const MAX_WEBHOOK_BYTES = 3 * 1024 * 1024;

export const webhookRoutes = new Hono<AppEnv>();

// Meta's subscription handshake: echo hub.challenge when hub.verify_token is the workspace's token.
webhookRoutes.get("/whatsapp/:workspaceId", async (c) => {
  const mode = c.req.query("hub.mode");
  const token = c.req.query("hub.verify_token");
  const challenge = c.req.query("hub.challenge");
  const secrets = await findWebhookSecrets(c.env, c.req.param("workspaceId"));
  const verified =
    mode === "subscribe" &&
    challenge !== undefined &&
    token !== undefined &&
    secrets?.verifyToken != null &&
    (await secretsEqual(token, secrets.verifyToken));
  if (!verified) throw new ApiError("forbidden", "The verify token does not match this workspace's.");
  return c.text(challenge, 200);
});

/** Reads the body as bytes, refusing more than `limit`; a body of unknown length is counted as it streams. */
export async function readBodyBytes(request: Request, limit: number): Promise<ArrayBuffer> {
  const tooLarge = () => new ApiError("payload_too_large", `Bodies are limited to ${limit} bytes.`);
  const declared = request.headers.get("content-length");
  if (declared !== null || !request.body) {
    if (Number(declared ?? "0") > limit) throw tooLarge();
    const body = await request.arrayBuffer();
    if (body.byteLength > limit) throw tooLarge();
    return body;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body.buffer;
}

export function parseWebhookJson(bytes: ArrayBuffer, now: number, earliest: number) {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new ApiError("invalid_json", "The body is not valid JSON.");
  }
  const body = WebhookBody.safeParse(json);
  if (!body.success) throw new ApiError("invalid_request", "Not a WhatsApp webhook body (object, entry[].changes[]).");
  return readWebhookEvents(body.data, now, earliest);
}

// Meta's deliveries: signed with the app secret, acknowledged once the events are durably stored.
webhookRoutes.post("/whatsapp/:workspaceId", async (c) => {
  const workspaceId = c.req.param("workspaceId");
  const bytes = await readBodyBytes(c.req.raw, MAX_WEBHOOK_BYTES);
  const secrets = await findWebhookSecrets(c.env, workspaceId);
  const workspace = await readWorkspaceSettings(c.env.DB, workspaceId);
  if (!secrets || !workspace) throw new ApiError("not_found", "No such workspace.");
  if (
    !secrets.appSecret ||
    !(await verifyHubSignature(secrets.appSecret, bytes, c.req.header("x-hub-signature-256")))
  ) {
    throw new ApiError("unauthorized", "Missing or invalid X-Hub-Signature-256.");
  }
  const now = Date.now();
  const parsed = parseWebhookJson(bytes, now, earliestRetainedTime(now, workspace.settings.retentionDays));
  await storeWhatsAppEvents(c.env, await toStoredEvents(c.env.PII_PEPPER, workspaceId, parsed));
  return c.json(ingestCounts(parsed), 200);
});
