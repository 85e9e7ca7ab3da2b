export const MAX_URL_LENGTH = 2048;

export type DestinationCheck = { ok: true; url: string } | { ok: false; reason: string };

/** Destinations are absolute http(s) URLs without credentials, normalised by the WHATWG URL parser. */
export function normalizeDestination(input: string): DestinationCheck {
  if (input.length > MAX_URL_LENGTH) return { ok: false, reason: `At most ${MAX_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    return { ok: false, reason: "Must be an absolute URL such as https://shop.example.com/offer" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return { ok: false, reason: "Only http and https URLs" };
  if (url.username || url.password) return { ok: false, reason: "URLs with credentials are not allowed" };
  if (!url.hostname) return { ok: false, reason: "The URL needs a host" };
  const normalized = url.href;
  if (normalized.length > MAX_URL_LENGTH) return { ok: false, reason: `At most ${MAX_URL_LENGTH} characters` };
  return { ok: true, url: normalized };
}

export type RedirectParams = {
  destination: string;
  /** UTM tags by name without the `utm_` prefix (`{ source: "whatsapp" }`). */
  utm: Readonly<Record<string, string | undefined>> | null;
  requestQuery: URLSearchParams;
  clickIdParam: string;
  clickId: string | null;
};

/**
 * The redirect target: the stored destination with the link's UTM tags and the click id added, and
 * the visitor's own query parameters forwarded where neither the destination nor the link's UTM has
 * that name. Only the query is ever touched, and the request can only add to it: it cannot change the
 * destination's scheme, host, path, existing parameters or UTM, nor the click id, which is always ours.
 */
export function buildRedirectUrl({ destination, utm, requestQuery, clickIdParam, clickId }: RedirectParams): string {
  const url = new URL(destination);
  const extra = new URLSearchParams();
  for (const [name, value] of Object.entries(utm ?? {})) if (value) extra.set(`utm_${name}`, value);
  for (const name of new Set(requestQuery.keys())) {
    if (name === clickIdParam || url.searchParams.has(name) || extra.has(name)) continue;
    for (const value of requestQuery.getAll(name)) extra.append(name, value);
  }
  if (clickId) extra.set(clickIdParam, clickId);
  if (extra.size === 0) return destination;

  // The link's UTM tags and the click id replace the destination's own parameters of the same name.
  const overlaps = [...extra.keys()].some((name) => url.searchParams.has(name));
  if (overlaps) {
    for (const name of new Set(extra.keys())) url.searchParams.delete(name);
    for (const [name, value] of extra) url.searchParams.append(name, value);
    return url.href;
  }
  // No overlap: append, so the destination's own query keeps its exact encoding.
  url.search = url.search ? `${url.search.slice(1)}&${extra}` : extra.toString();
  return url.href;
}
