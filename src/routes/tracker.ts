import { Hono, type Context } from "hono";
import { readWorkspaceSettingsByPublishableKey } from "../db/workspace-settings";
import { ApiError, type ErrorCode, type ErrorIssue } from "../errors";
import { rateLimited, visitorKey, withinLimit } from "../middleware/rate-limit";
import { toIssues } from "../middleware/validation";
import { matchesEtag, textVersion } from "../lib/etag";
import { recordSiteConversion } from "../events/write";
import { BeaconBody, PixelQuery } from "../schemas/tracker";
import { SNIPPET_SOURCE } from "../tracker/snippet";
import type { AppEnv } from "../types";
import { loggableError } from "../lib/loggable-error";

export const trackerRoutes = new Hono<AppEnv>();

const MAX_BEACON_BYTES = 16 * 1024;
// A transparent 1×1 GIF.
const PIXEL = Uint8Array.from(atob("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"), (ch) =>
  ch.charCodeAt(0),
);

let snippetEtag: Promise<string> | null = null;
function snippetVersion(): Promise<string> {
  snippetEtag ??= textVersion(SNIPPET_SOURCE);
  return snippetEtag;
}

// Long-lived in caches; the ETag is the snippet's version, so a changed snippet is fetched again.
trackerRoutes.get("/s.js", async (c) => {
  const etag = await snippetVersion();
  const headers = {
    "Content-Type": "application/javascript; charset=utf-8",
    "Cache-Control": "public, max-age=86400, stale-while-revalidate=604800",
    ETag: etag,
  };
  if (matchesEtag(c.req.header("if-none-match"), etag)) return c.body(null, 304, headers);
  return c.body(SNIPPET_SOURCE, 200, headers);
});

function corsHeaders(origin: string): Record<string, string> {
  return { "Access-Control-Allow-Origin": origin, Vary: "Origin" };
}

/** The workspace of the publishable key, and whether the calling page's origin may use it. */
async function beaconWorkspace(c: Context<AppEnv>) {
  const key = c.req.query("k");
  const workspace = key ? await readWorkspaceSettingsByPublishableKey(c.env.DB, key) : null;
  if (!workspace) throw new ApiError("unauthorized", "Unknown publishable key (?k=).");
  const origin = c.req.header("origin");
  if (origin && !workspace.settings.allowedOrigins.includes(origin)) {
    throw new ApiError("forbidden", `The origin ${origin} is not in this workspace's allowedOrigins.`);
  }
  return { workspace, cors: origin ? corsHeaders(origin) : {} };
}

trackerRoutes.options("/collect", async (c) => {
  const { cors } = await beaconWorkspace(c);
  return c.body(null, 204, {
    ...cors,
    "Access-Control-Allow-Methods": "POST",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
  });
});

// The snippet's beacon: text/plain (sendBeacon, no preflight) or application/json.
trackerRoutes.post("/collect", async (c) => {
  const { workspace, cors } = await beaconWorkspace(c);
  // Errors for an allowed page carry the CORS headers too, so the site's console shows why.
  const refuse = (code: ErrorCode, message: string, issues?: ErrorIssue[]) => new ApiError(code, message, issues, cors);
  const visitor = await visitorKey(c.env, c.req.raw.headers, workspace.id);
  if (visitor && !(await withinLimit(c.env.BEACON_LIMITER, visitor))) {
    throw rateLimited("Too many beacons from this visitor; try again after Retry-After seconds.", cors);
  }
  const type = c.req.header("content-type") ?? "";
  if (!/^(text\/plain|application\/json)\b/i.test(type)) {
    throw refuse("unsupported_media_type", "Send the beacon as text/plain or application/json.");
  }
  const text = await c.req.text();
  if (text.length > MAX_BEACON_BYTES) throw refuse("payload_too_large", "Beacons are limited to 16 KB.");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw refuse("invalid_json", "The beacon body is not valid JSON.");
  }
  const body = BeaconBody.safeParse(json);
  if (!body.success) throw refuse("invalid_request", "The beacon is invalid; see issues.", toIssues(body.error));
  await recordSiteConversion(c.env, workspace, body.data, "beacon");
  return c.body(null, 202, cors);
});

// For places where no script runs: always a GIF, also when the input is bad or the visitor is over its
// rate limit (it is then not recorded).
trackerRoutes.get("/p.gif", async (c) => {
  const query = PixelQuery.safeParse(c.req.query());
  if (query.success) {
    const { k, cid, e, v, c: currency, o } = query.data;
    const body = BeaconBody.safeParse({ clickId: cid, event: e, value: v, currency, orderId: o });
    const workspace = body.success ? await readWorkspaceSettingsByPublishableKey(c.env.DB, k) : null;
    const visitor = workspace ? await visitorKey(c.env, c.req.raw.headers, workspace.id) : null;
    const limited = visitor !== null && !(await withinLimit(c.env.PIXEL_LIMITER, visitor));
    if (body.success && workspace && !limited) {
      c.executionCtx.waitUntil(
        recordSiteConversion(c.env, workspace, body.data, "pixel").catch((err) =>
          console.error(JSON.stringify({ event: "pixel_not_recorded", error: loggableError(err) })),
        ),
      );
    }
  }
  return c.body(PIXEL, 200, { "Content-Type": "image/gif", "Cache-Control": "no-store" });
});
