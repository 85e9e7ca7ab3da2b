import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { expect } from "vitest";
import type { ClickRecord } from "../src/db/clicks";
import { drainOutbox } from "../src/events/pipeline";
import worker from "../src/index";
import type { Random } from "./random";

export const ORIGIN = "https://cf.test";

type RequestOptions = {
  method?: string;
  key?: string;
  body?: unknown;
  headers?: Record<string, string>;
  cf?: Record<string, unknown>;
  /** The bindings the Worker gets: the test environment's unless a test swaps some in. */
  env?: Env;
};

/** Calls the Worker and waits for everything it handed to waitUntil (click recording) to finish. */
export async function callWorker(path: string, options: RequestOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  if (options.key) headers.set("authorization", `Bearer ${options.key}`);
  let body: BodyInit | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  const request = new Request(`${ORIGIN}${path}`, {
    method: options.method ?? (body ? "POST" : "GET"),
    headers,
    body,
    redirect: "manual",
    cf: options.cf,
  } as RequestInit);
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, options.env ?? env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export async function callJson(
  path: string,
  options: RequestOptions = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const response = await callWorker(path, options);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
}

export async function createWorkspace(settings?: Record<string, unknown>) {
  const res = await callJson("/api/v1/workspaces", {
    key: env.ADMIN_TOKEN,
    body: { name: "Acme", ...(settings ? { settings } : {}) },
  });
  if (res.status !== 201) throw new Error(`workspace not created: ${JSON.stringify(res.body)}`);
  return { workspace: res.body, adminKey: res.body.apiKey as string };
}

export async function createApiKey(adminKey: string, scopes: string[]): Promise<string> {
  const res = await callJson("/api/v1/api-keys", { key: adminKey, body: { name: `key ${scopes.join(",")}`, scopes } });
  if (res.status !== 201) throw new Error(`key not created: ${JSON.stringify(res.body)}`);
  return res.body.key;
}

export async function createCampaign(key: string, body: Record<string, unknown> = {}) {
  const res = await callJson("/api/v1/campaigns", { key, body: { name: "Spring sale", ...body } });
  if (res.status !== 201) throw new Error(`campaign not created: ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function createLink(key: string, body: Record<string, unknown> = {}) {
  const res = await callJson("/api/v1/links", { key, body: { url: "https://shop.example.com/offer", ...body } });
  if (res.status !== 201) throw new Error(`link not created: ${JSON.stringify(res.body)}`);
  return res.body;
}

export function expectErrorEnvelope(code: string) {
  return {
    error: expect.objectContaining({ code, message: expect.any(String), requestId: expect.any(String) }),
  } as const;
}

/** The paths named by a 400's `issues`. */
export function issuePaths(body: Json): (string | number)[][] {
  return (body.error.issues as { path: (string | number)[] }[]).map((issue) => issue.path);
}

export const ANDROID_CHROME =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36";

/** A human click on a link, as the redirect hands it to insertClicks, with the fields a test cares about. */
export function clickRecord(workspaceId: string, linkId: string, fields: Partial<ClickRecord> = {}): ClickRecord {
  return {
    id: crypto.randomUUID(),
    workspaceId,
    linkId,
    campaignId: null,
    variant: null,
    messageId: null,
    contactHash: null,
    kind: "click",
    visitorHash: crypto.randomUUID(),
    dedupSeconds: 3600,
    occurredAt: Date.now(),
    country: "PT",
    deviceType: "mobile",
    os: "Android",
    browser: "Chrome",
    referrerHost: null,
    userAgent: ANDROID_CHROME,
    ...fields,
  };
}

/**
 * A report's JSON without its `asOf`, once that is checked to be an ISO time no later than now: the
 * report holds every event acknowledged before it.
 */
export function withoutAsOf(body: Json): Json {
  expect(body.asOf).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  expect(Date.parse(body.asOf)).toBeLessThanOrEqual(Date.now());
  const { asOf: _asOf, ...report } = body;
  return report;
}

/**
 * The database once the outbox's rollup consumer has applied everything pending: for tests that
 * call report functions directly (routes do this themselves before every read).
 */
export async function applied(): Promise<D1Database> {
  await drainOutbox(env.DB);
  return env.DB;
}

/**
 * Now and then (three writes in ten) applies one slice of a few outbox entries, as the consumer does under
 * live traffic while a history is still being written: a message's facts, its replies and its contact's
 * other messages then change across slices.
 */
export async function applySomeOfOutbox(random: Random): Promise<void> {
  if (random.chance(0.3)) await drainOutbox(env.DB, { slices: 1, size: 1 + random.int(6) });
}
