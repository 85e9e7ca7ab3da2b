import { Hono, type Context } from "hono";
import type { ClickRecord } from "../db/clicks";
import { getRedirectTarget } from "../db/link-cache";
import type { RedirectTarget } from "../db/redirect-targets";
import { peekWorkspaceSettings } from "../db/workspace-settings";
import { errorBody } from "../errors";
import { buildRedirectUrl } from "../lib/destination";
import { newClickId } from "../lib/ids";
import { classifyVisit, describeVisitor, type VisitKind, type VisitRequest } from "../lib/visit";
import { recordClick } from "../events/write";
import type { AppEnv } from "../types";
import { visitorSaltOrNull } from "../visitors/salt";
import { loggableError } from "../lib/loggable-error";

export const redirectRoutes = new Hono<AppEnv>();

function unavailable(c: Context<AppEnv>, status: 404 | 410, message: string) {
  const accept = c.req.header("accept") ?? "";
  if (accept.includes("text/html") && !accept.includes("application/json")) {
    const title = status === 404 ? "Link not found" : "This link is no longer active";
    return c.html(
      `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title><body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem"><h1>${title}</h1><p>${message}</p></body></html>`,
      status,
      { "Cache-Control": "no-store" },
    );
  }
  return c.json(errorBody(status === 404 ? "not_found" : "gone", message, c.get("requestId")), status, {
    "Cache-Control": "no-store",
  });
}

function visitRequest(headers: Headers): VisitRequest {
  return {
    userAgent: headers.get("user-agent"),
    purpose: headers.get("sec-purpose") ?? headers.get("purpose"),
    ip: headers.get("cf-connecting-ip") ?? headers.get("x-real-ip") ?? "",
    referrer: headers.get("referer"),
  };
}

type Visit = { id: string; kind: VisitKind; at: number; request: VisitRequest; country: string | null };

/** The click as recorded: the link's campaign and contact, what is kept of the visitor, the dedup window. */
async function buildClickRecord(
  env: Env,
  target: RedirectTarget,
  dedupSeconds: number,
  visit: Visit,
): Promise<ClickRecord> {
  return {
    id: visit.id,
    workspaceId: target.workspaceId,
    linkId: target.linkId,
    campaignId: target.campaignId,
    variant: target.variant,
    messageId: target.messageId,
    contactHash: target.contactHash,
    kind: visit.kind,
    dedupSeconds,
    occurredAt: visit.at,
    country: visit.country,
    ...(await describeVisitor(await visitorSaltOrNull(env, visit.at), visit.request)),
  };
}

// Serves GET and HEAD. The response is built from cached link data; the visit is recorded after it.
redirectRoutes.get("/:code{[A-Za-z0-9_-]{4,64}}", async (c) => {
  const code = c.req.param("code");
  const target = await getRedirectTarget(c.env, c.executionCtx, code);
  if (!target) return unavailable(c, 404, "There is no link at this address.");
  const at = Date.now();
  if (target.disabledAt !== null || (target.expiresAt !== null && target.expiresAt <= at)) {
    return unavailable(c, 410, "This link has been disabled or has expired.");
  }

  // Never a D1 read here: the link entry carries the settings, and this isolate's settings entry, when
  // it has one, is at least as fresh (a settings change in this isolate re-reads it at once).
  const { clickIdParam, clickDedupSeconds } = peekWorkspaceSettings(target.workspaceId)?.settings ?? target;
  const request = visitRequest(c.req.raw.headers);
  const kind = classifyVisit(request);
  const clickId = newClickId();
  const location = buildRedirectUrl({
    destination: target.url,
    utm: target.utm,
    requestQuery: new URL(c.req.url).searchParams,
    clickIdParam,
    // Only human clicks carry a click id that a conversion can later be attributed to.
    clickId: kind === "click" ? clickId : null,
  });

  if (c.req.method === "GET") {
    const country = (c.req.raw.cf?.country as string | undefined) ?? null;
    c.executionCtx.waitUntil(
      buildClickRecord(c.env, target, clickDedupSeconds, { id: clickId, kind, at, request, country })
        .then((click) => recordClick(c.env, click))
        .catch((err) =>
          console.error(JSON.stringify({ event: "visit_not_recorded", code, error: loggableError(err) })),
        ),
    );
  }
  return new Response(null, { status: 302, headers: { Location: location, "Cache-Control": "no-store" } });
});
