import { Hono } from "hono";
import { assetVersion, DASHBOARD_SCRIPT, DASHBOARD_STYLES, type DashboardAsset } from "../dashboard/assets";
import { dashboardPage } from "../dashboard/page";
import { matchesEtag } from "../lib/etag";
import type { AppEnv } from "../types";

export const dashboardRoutes = new Hono<AppEnv>();

// The page runs only its own script and style sheet and talks only to this origin; it holds an API key, so
// it may not be framed, and leaks no address to the sites its links go to.
const SECURITY_HEADERS = {
  "Content-Security-Policy": [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join("; "),
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
};

dashboardRoutes.use(async function secureDashboard(c, next) {
  await next();
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
});

// Revalidated on every visit, so a new version of the assets it names is picked up at once.
dashboardRoutes.get("/", async (c) => c.html(await dashboardPage(), 200, { "Cache-Control": "no-cache" }));

/** The page names each asset with its version: that URL may be kept for a year, any other only briefly. */
async function serveAsset(asset: DashboardAsset, ifNoneMatch: string | undefined, askedVersion: string | undefined) {
  const etag = await assetVersion(asset);
  const current = askedVersion === etag.slice(1, -1);
  const headers = {
    "Content-Type": asset.type,
    "Cache-Control": current ? "public, max-age=31536000, immutable" : "public, max-age=300",
    ETag: etag,
  };
  if (matchesEtag(ifNoneMatch, etag)) return new Response(null, { status: 304, headers });
  return new Response(asset.body, { status: 200, headers });
}

for (const asset of [DASHBOARD_SCRIPT, DASHBOARD_STYLES]) {
  dashboardRoutes.get(asset.path.slice("/dashboard".length), (c) =>
    serveAsset(asset, c.req.header("if-none-match"), c.req.query("v")),
  );
}
