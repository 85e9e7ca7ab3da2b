import { callJson, callWorker, createWorkspace } from "./helpers";
import { metaEnvelope } from "./meta-envelope";

export const APP_SECRET = "test-app-secret";
export const VERIFY_TOKEN = "test-verify-token";

export async function createWhatsAppWorkspace(settings: Record<string, unknown> = {}) {
  const created = await createWorkspace({
    ...settings,
    whatsapp: { appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN },
  });
  return { ...created, workspaceId: created.workspace.id as string };
}

export async function sign(secret: string, body: string | Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const mac = await crypto.subtle.sign("HMAC", key, bytes);
  return `sha256=${[...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Posts a body to the workspace's webhook, signed as Meta signs it. */
export async function deliverWebhook(workspaceId: string, body: unknown, secret = APP_SECRET) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return callJson(`/webhooks/whatsapp/${workspaceId}`, {
    method: "POST",
    body: text,
    headers: { "x-hub-signature-256": await sign(secret, text) },
  });
}

type StatusInit = {
  id: string;
  status: string;
  at: number;
  recipient?: string;
  recipientUserId?: string;
  biz?: string;
  errors?: unknown[];
  pricing?: Record<string, unknown>;
  /** `group` for a message to a WhatsApp group (`recipient` is then the group's id). */
  recipientType?: string;
};

export function statusBody(...statuses: StatusInit[]) {
  return metaEnvelope({
    statuses: statuses.map((s) => ({
      id: s.id,
      status: s.status,
      timestamp: String(Math.floor(s.at / 1000)),
      recipient_id: s.recipient ?? "16505551234",
      ...(s.recipientUserId ? { recipient_user_id: s.recipientUserId } : {}),
      ...(s.biz ? { biz_opaque_callback_data: s.biz } : {}),
      ...(s.errors ? { errors: s.errors } : {}),
      ...(s.pricing ? { pricing: s.pricing } : {}),
      ...(s.recipientType ? { recipient_type: s.recipientType } : {}),
    })),
  });
}

type PreferenceInit = { value: "stop" | "resume"; at: number; waId?: string; userId?: string; category?: string };

/** A `user_preferences` change, as Meta sends it when users stop or resume marketing messages. */
export function preferencesBody(...preferences: PreferenceInit[]) {
  return metaEnvelope(
    {
      user_preferences: preferences.map((p) => ({
        ...(p.userId ? {} : { wa_id: p.waId ?? "16505551234" }),
        ...(p.userId ? { user_id: p.userId } : {}),
        detail: `User requested to ${p.value} marketing messages`,
        category: p.category ?? "marketing_messages",
        value: p.value,
        timestamp: Math.floor(p.at / 1000),
      })),
    },
    "user_preferences",
  );
}

/** A status's error 131050 (the user stopped marketing messages), written for tests: only the code is read. */
export const STOPPED_MARKETING_ERROR = { code: 131050, title: "The user stopped marketing messages" };

/** Meta's envelope around one change's value (statuses, messages, …). */
export function webhookBody(value: Record<string, unknown>) {
  return {
    object: "whatsapp_business_account",
    entry: [{ id: "1", changes: [{ field: "messages", value: { messaging_product: "whatsapp", ...value } }] }],
  };
}

export function getMessage(key: string, id: string) {
  return callJson(`/api/v1/messages/${encodeURIComponent(id)}`, { key });
}

/** What GET /api/v1/messages/:id answers for a message, given the fields that differ from an unregistered one. */
export function expectedMessage(state: { id: string; status: string } & Record<string, unknown>) {
  return {
    campaignId: null,
    variant: null,
    linkCode: null,
    externalId: null,
    category: null,
    registered: false,
    sentAt: null,
    deliveredAt: null,
    readAt: null,
    failedAt: null,
    clickedAt: null,
    convertedAt: null,
    inferred: [],
    errors: null,
    pricing: null,
    ...state,
  };
}

export { callWorker };
