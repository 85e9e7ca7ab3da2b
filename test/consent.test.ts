/// <reference types="vite/client" />
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { hashContact } from "../src/lib/contact";
import type { QueueMessage } from "../src/schemas/queue";
import { breakWrites, repairWrites, runQueue } from "./failures";
import { callJson, createApiKey, createWorkspace, expectErrorEnvelope, issuePaths } from "./helpers";
import {
  createWhatsAppWorkspace,
  deliverWebhook,
  preferencesBody,
  STOPPED_MARKETING_ERROR,
  statusBody,
} from "./whatsapp-helpers";
import resumeExample from "./fixtures/whatsapp/user_preferences/meta_docs_resume.json?raw";

const CONTACT = "+351912345678";
// The number WhatsApp writes as wa_id 16505551234 in Meta's examples and in preferencesBody().
const WA_CONTACT = "+16505551234";
const SECOND = 1000;
const MIN = 60 * SECOND;

const consent = (key: string, body: unknown) => callJson("/api/v1/contacts/consent", { key, body });
const linkFor = (key: string, contact: string) =>
  callJson("/api/v1/links", { key, body: { url: "https://shop.example.com/offer", contact } });
const hash = (contact: string) => hashContact(env.PII_PEPPER, contact);
/** A time WhatsApp could report: whole seconds, a little in the past. */
const whatsappTime = (ago = 0) => Math.floor((Date.now() - ago) / SECOND) * SECOND;

/** The workspace's consent records, in the order they were written. */
async function records(workspaceId: string) {
  const { results } = await env.DB.prepare(
    `SELECT contact_hash AS contactHash, opted_in AS optedIn, source, occurred_at AS at
     FROM consents WHERE workspace_id = ?1 ORDER BY seq`,
  )
    .bind(workspaceId)
    .all();
  return results;
}

describe("POST /api/v1/contacts/consent", () => {
  it("records an opt-out with its time, keeps the contact only as its hash, and echoes nothing personal", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const before = Date.now();
    const res = await consent(adminKey, { contact: "+351 912 345 678", optedIn: false, source: "website" });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ optedIn: false, source: "website", recordedAt: expect.any(String) });
    const at = Date.parse(res.body.recordedAt);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(Date.now());
    expect(JSON.stringify(res.body)).not.toContain("912");
    expect(await records(workspace.id)).toEqual([
      { contactHash: await hash(CONTACT), optedIn: 0, source: "website", at },
    ]);
  });

  it("reads a national number in the workspace's defaultCountry, as links and messages do", async () => {
    const { workspace, adminKey } = await createWorkspace({ defaultCountry: "DE" });
    expect((await consent(adminKey, { contact: "0151 99887766", optedIn: true, source: "api" })).status).toBe(201);
    expect(await records(workspace.id)).toEqual([
      expect.objectContaining({ contactHash: await hash("+4915199887766") }),
    ]);
  });

  it("keeps a history: every record is added, none replaces another", async () => {
    const { workspace, adminKey } = await createWorkspace();
    for (const optedIn of [false, true, false]) {
      expect((await consent(adminKey, { contact: CONTACT, optedIn, source: "crm.sync" })).status).toBe(201);
    }
    expect((await records(workspace.id)).map((r) => r.optedIn)).toEqual([0, 1, 0]);
  });

  const invalid: [string, Record<string, unknown>, (string | number)[]][] = [
    ["optedIn as a string", { contact: CONTACT, optedIn: "false", source: "api" }, ["optedIn"]],
    ["no optedIn", { contact: CONTACT, source: "api" }, ["optedIn"]],
    ["no source", { contact: CONTACT, optedIn: false }, ["source"]],
    ["an upper-case source", { contact: CONTACT, optedIn: false, source: "API" }, ["source"]],
    ["an empty source", { contact: CONTACT, optedIn: false, source: "" }, ["source"]],
    ["a source of 33 characters", { contact: CONTACT, optedIn: false, source: "a".repeat(33) }, ["source"]],
    ["a source with a space", { contact: CONTACT, optedIn: false, source: "web site" }, ["source"]],
    ["a source with a line break", { contact: CONTACT, optedIn: false, source: "api\n" }, ["source"]],
    ["a source starting with a digit", { contact: CONTACT, optedIn: false, source: "1api" }, ["source"]],
    ["no contact", { optedIn: false, source: "api" }, ["contact"]],
    ["a contact that is no number", { contact: "hello", optedIn: false, source: "api" }, ["contact"]],
    [
      "a national number without defaultCountry",
      { contact: "0151 99887766", optedIn: false, source: "api" },
      ["contact"],
    ],
  ];
  it.each(invalid)("refuses %s with 400 naming the field, and writes nothing", async (_, body, path) => {
    const { workspace, adminKey } = await createWorkspace();
    const res = await consent(adminKey, body);
    expect(res).toMatchObject({ status: 400, body: expectErrorEnvelope("invalid_request") });
    expect(issuePaths(res.body)).toEqual([path]);
    expect(await records(workspace.id)).toEqual([]);
  });

  it("refuses fields it does not know", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const res = await consent(adminKey, { contact: CONTACT, optedIn: false, source: "api", name: "Ana" });
    expect(res).toMatchObject({ status: 400, body: expectErrorEnvelope("invalid_request") });
    expect(await records(workspace.id)).toEqual([]);
  });

  it("needs the links:write or admin scope", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const body = { contact: CONTACT, optedIn: false, source: "api" };
    for (const scope of ["reports:read", "events:write"]) {
      const res = await consent(await createApiKey(adminKey, [scope]), body);
      expect(res).toMatchObject({ status: 403, body: expectErrorEnvelope("forbidden") });
    }
    expect(await records(workspace.id)).toEqual([]);
    expect((await consent(await createApiKey(adminKey, ["links:write"]), body)).status).toBe(201);
    expect((await consent(adminKey, body)).status).toBe(201);
    expect(await records(workspace.id)).toHaveLength(2);
  });

  it("belongs to its workspace: the same contact elsewhere is not opted out", async () => {
    const mine = await createWorkspace();
    const theirs = await createWorkspace();
    expect((await consent(mine.adminKey, { contact: CONTACT, optedIn: false, source: "api" })).status).toBe(201);
    expect((await linkFor(theirs.adminKey, CONTACT)).status).toBe(201);
    expect((await linkFor(mine.adminKey, CONTACT)).status).toBe(409);
    expect(await records(theirs.workspace.id)).toEqual([]);
  });
});

describe("opt-outs and opt-ins that WhatsApp reports", () => {
  it("records a user_preferences stop, and a later resume lifts it", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const stoppedAt = whatsappTime(10 * MIN);
    const stop = await deliverWebhook(workspaceId, preferencesBody({ value: "stop", at: stoppedAt }));
    expect(stop).toMatchObject({ status: 200, body: { statuses: 0, messages: 0, consents: 1, skipped: 0 } });
    expect(await records(workspaceId)).toEqual([
      { contactHash: await hash(WA_CONTACT), optedIn: 0, source: "whatsapp", at: stoppedAt },
    ]);
    const refused = await linkFor(adminKey, WA_CONTACT);
    expect(refused).toMatchObject({ status: 409, body: expectErrorEnvelope("opted_out") });
    expect(refused.body.error.issues).toEqual([
      { path: ["contact"], code: "opted_out", message: expect.stringContaining("marketing") },
    ]);

    await deliverWebhook(workspaceId, preferencesBody({ value: "resume", at: stoppedAt + MIN }));
    expect((await linkFor(adminKey, WA_CONTACT)).status).toBe(201);
  });

  it("reads Meta's documented user_preferences example", async () => {
    const { workspaceId } = await createWhatsAppWorkspace();
    const res = await deliverWebhook(workspaceId, resumeExample);
    expect(res).toMatchObject({ status: 200, body: { statuses: 0, messages: 0, consents: 1, skipped: 0 } });
    expect(await records(workspaceId)).toEqual([
      { contactHash: await hash(WA_CONTACT), optedIn: 1, source: "whatsapp", at: 1731705721 * SECOND },
    ]);
  });

  it("hashes a business-scoped user id as the API hashes it", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const userId = "user.9373795779eb6441c8adb2eaee5b848e";
    await deliverWebhook(workspaceId, preferencesBody({ value: "stop", at: whatsappTime(), userId }));
    expect(await records(workspaceId)).toEqual([expect.objectContaining({ contactHash: await hash(userId) })]);
    expect((await linkFor(adminKey, userId)).status).toBe(409);
  });

  it("records a failure with error 131050 as an opt-out of its recipient at the status time", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const at = whatsappTime(5 * MIN);
    const body = statusBody(
      { id: "wamid.stopped", status: "failed", at, recipient: "14155550100", errors: [STOPPED_MARKETING_ERROR] },
      { id: "wamid.limited", status: "failed", at, recipient: "14155550101", errors: [{ code: 131049 }] },
    );
    expect(await deliverWebhook(workspaceId, body)).toMatchObject({
      status: 200,
      body: { statuses: 2, messages: 0, consents: 1, skipped: 0 },
    });
    expect(await records(workspaceId)).toEqual([
      { contactHash: await hash("+14155550100"), optedIn: 0, source: "whatsapp", at },
    ]);
    expect((await linkFor(adminKey, "+14155550100")).status).toBe(409);
    expect((await linkFor(adminKey, "+14155550101")).status).toBe(201);
  });

  it("writes one record when Meta delivers the same webhook twice, or a relay sends it again", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const at = whatsappTime(MIN);
    const body = preferencesBody({ value: "stop", at }, { value: "stop", at, waId: "14155550100" });
    await deliverWebhook(workspaceId, body);
    await deliverWebhook(workspaceId, body);
    const relayKey = await createApiKey(adminKey, ["events:write"]);
    const relayed = await callJson("/api/v1/statuses", { key: relayKey, body });
    expect(relayed).toMatchObject({ status: 200, body: { consents: 2, skipped: 0 } });
    expect(await records(workspaceId)).toHaveLength(2);
  });

  it("records what a relay sends to POST /api/v1/statuses", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const body = preferencesBody({ value: "stop", at: whatsappTime() });
    expect((await callJson("/api/v1/statuses", { key: adminKey, body })).body.consents).toBe(1);
    expect(await records(workspace.id)).toEqual([expect.objectContaining({ source: "whatsapp", optedIn: 0 })]);
  });

  it("skips and counts preferences it cannot read, and stores the rest", async () => {
    const { workspaceId } = await createWhatsAppWorkspace();
    const at = whatsappTime();
    const body = preferencesBody(
      { value: "stop", at, category: "service_messages" },
      { value: "pause" as "stop", at },
      { value: "stop", at, waId: "not-a-number" },
      { value: "stop", at: Date.UTC(1999, 0, 1) },
      { value: "stop", at: Date.now() + 3 * 86_400_000 },
      { value: "stop", at, waId: "14155550100" },
    );
    expect((await deliverWebhook(workspaceId, body)).body).toEqual({
      statuses: 0,
      messages: 0,
      consents: 1,
      skipped: 5,
    });
    expect(await records(workspaceId)).toEqual([expect.objectContaining({ contactHash: await hash("+14155550100") })]);
  });

  it("of a stop and a resume in the same second, lets the later one in the body hold", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const at = whatsappTime();
    await deliverWebhook(workspaceId, preferencesBody({ value: "stop", at }, { value: "resume", at }));
    expect((await linkFor(adminKey, WA_CONTACT)).status).toBe(201);
    const other = await createWhatsAppWorkspace();
    await deliverWebhook(other.workspaceId, preferencesBody({ value: "resume", at }, { value: "stop", at }));
    expect((await linkFor(other.adminKey, WA_CONTACT)).status).toBe(409);
  });
});

describe("consent records when D1 fails", () => {
  afterEach(async () => {
    vi.restoreAllMocks();
    await repairWrites("consents");
  });

  it("go to the events queue with the webhook's other events, and land once D1 is back", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const queued: QueueMessage[] = [];
    const sendBatch = env.EVENTS.sendBatch.bind(env.EVENTS);
    vi.spyOn(env.EVENTS, "sendBatch").mockImplementation(async (messages, options) => {
      queued.push(...[...messages].map((m) => m.body as QueueMessage));
      return sendBatch(messages, options);
    });
    await breakWrites("consents");
    const at = whatsappTime();
    expect((await deliverWebhook(workspaceId, preferencesBody({ value: "stop", at }))).status).toBe(200);
    const contactHash = await hash(WA_CONTACT);
    expect(queued).toEqual([
      {
        type: "whatsapp",
        events: {
          statuses: [],
          inbound: [],
          consents: [{ workspaceId, contactHash, optedIn: false, source: "whatsapp", at }],
        },
      },
    ]);
    expect(await records(workspaceId)).toEqual([]);

    await repairWrites("consents");
    expect((await runQueue(queued)).explicitAcks).toEqual(["msg-0"]);
    expect((await runQueue(queued)).explicitAcks).toEqual(["msg-0"]);
    expect(await records(workspaceId)).toEqual([{ contactHash, optedIn: 0, source: "whatsapp", at }]);
    expect((await linkFor(adminKey, WA_CONTACT)).status).toBe(409);
  });

  it("that the queue consumer can never write become dead letters of their own kind", async () => {
    const { workspaceId, adminKey } = await createWhatsAppWorkspace();
    const record = {
      workspaceId,
      contactHash: "ab".repeat(32),
      optedIn: false,
      source: "Not A Source",
      at: Date.now(),
    };
    const result = await runQueue([{ type: "whatsapp", events: { statuses: [], inbound: [], consents: [record] } }]);
    expect(result.explicitAcks).toEqual(["msg-0"]);
    const letters = await callJson("/api/v1/dead-letters", { key: adminKey });
    expect(letters.body.deadLetters).toEqual([
      expect.objectContaining({ kind: "consent", event: record, reason: expect.stringContaining("consent") }),
    ]);
    expect(await records(workspaceId)).toEqual([]);
  });
});
