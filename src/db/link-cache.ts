import { TtlCache } from "../lib/ttl-cache";
import { loadRedirectTarget, type RedirectTarget } from "./redirect-targets";

// Two layers in front of D1: this isolate's memory, then the colo's Cache API. A change to a link
// clears both here; other isolates and colos see it when their entry expires.
const MEMORY_TTL_MS = 30_000;
const MISSING_TTL_MS = 5_000;
const EDGE_TTL_S = 60;
const MAX_ENTRIES = 20_000;

const memory = new TtlCache<RedirectTarget | null>(MEMORY_TTL_MS, MAX_ENTRIES);

function edgeKey(code: string): Request {
  return new Request(`https://link-cache.chatfunnel.internal/${encodeURIComponent(code)}`);
}

function remember(code: string, target: RedirectTarget | null) {
  memory.set(code, target, target ? MEMORY_TTL_MS : MISSING_TTL_MS);
}

async function fromEdge(code: string): Promise<RedirectTarget | undefined> {
  const hit = await caches.default.match(edgeKey(code));
  return hit ? ((await hit.json()) as RedirectTarget) : undefined;
}

function toEdge(code: string, target: RedirectTarget): Promise<void> {
  const body = JSON.stringify(target);
  return caches.default.put(
    edgeKey(code),
    new Response(body, { headers: { "Content-Type": "application/json", "Cache-Control": `max-age=${EDGE_TTL_S}` } }),
  );
}

export async function getRedirectTarget(
  env: Env,
  ctx: Pick<ExecutionContext, "waitUntil">,
  code: string,
): Promise<RedirectTarget | null> {
  const cached = memory.get(code);
  if (cached !== undefined) return cached;

  const edge = await fromEdge(code).catch(() => undefined);
  if (edge) {
    remember(code, edge);
    return edge;
  }
  const target = await loadRedirectTarget(env.DB, code);
  remember(code, target);
  if (target) ctx.waitUntil(toEdge(code, target).catch((err) => console.error("link cache put failed", err)));
  return target;
}

/** Call after a link is created, changed or disabled. */
export async function forgetRedirectTarget(code: string): Promise<void> {
  memory.delete(code);
  await caches.default.delete(edgeKey(code)).catch(() => false);
}
