import { isLookalikeHost } from "./idn";

export const MAX_URL_LENGTH = 2048;

export type DestinationCheck = { ok: true; url: string } | { ok: false; reason: string };

// The parser drops tabs and line breaks and escapes other control characters; a URL that holds any
// was not meant as written.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** Destinations are absolute http(s) URLs without credentials, normalised by the WHATWG URL parser. */
export function normalizeDestination(input: string): DestinationCheck {
  if (input.length > MAX_URL_LENGTH) return { ok: false, reason: `At most ${MAX_URL_LENGTH} characters` };
  if (CONTROL_CHARACTER.test(input.trim())) return { ok: false, reason: "URLs may not contain control characters" };
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    return { ok: false, reason: "Must be an absolute URL such as https://shop.example.com/offer" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return { ok: false, reason: "Only http and https URLs" };
  if (url.username || url.password) return { ok: false, reason: "URLs with credentials are not allowed" };
  if (!url.hostname) return { ok: false, reason: "The URL needs a host" };
  if (isLookalikeHost(url.hostname)) {
    return { ok: false, reason: "The host imitates another with look-alike letters of another script" };
  }
  const normalized = url.href;
  if (normalized.length > MAX_URL_LENGTH) return { ok: false, reason: `At most ${MAX_URL_LENGTH} characters` };
  return { ok: true, url: normalized };
}

// IPv4 ranges no public destination lies in: "this network", private, carrier-grade NAT, loopback,
// link-local (cloud metadata), IETF protocol assignments, benchmarking, multicast and reserved.
const NON_PUBLIC_V4: [number, number][] = [
  [0x00000000, 8],
  [0x0a000000, 8],
  [0x64400000, 10],
  [0x7f000000, 8],
  [0xa9fe0000, 16],
  [0xac100000, 12],
  [0xc0000000, 24],
  [0xc0a80000, 16],
  [0xc6120000, 15],
  [0xe0000000, 3],
];
const NON_PUBLIC_NAMES =
  /^(?:localhost|metadata|metadata\.google\.internal|instance-data)$|\.(?:localhost|local|internal)$/;

function isNonPublicV4(dotted: string): boolean {
  const value = dotted.split(".").reduce((n, part) => n * 256 + Number(part), 0);
  return NON_PUBLIC_V4.some(
    ([base, bits]) => Math.floor(value / 2 ** (32 - bits)) === Math.floor(base / 2 ** (32 - bits)),
  );
}

/** An IPv6 address as eight 16-bit groups (the parser has already written it in its shortest form). */
export function groupsOf(v6: string): number[] {
  const [head, tail = ""] = v6.split("::");
  const parse = (part: string) => (part ? part.split(":").map((g) => parseInt(g, 16)) : []);
  const [left, right] = [parse(head), v6.includes("::") ? parse(tail) : []];
  return [...left, ...Array(8 - left.length - right.length).fill(0), ...right];
}

function isNonPublicV6(v6: string): boolean {
  const g = groupsOf(v6);
  if (g.slice(0, 7).every((x) => x === 0) && g[7] <= 1) return true; // :: and ::1
  if ((g[0] & 0xfe00) === 0xfc00 || (g[0] & 0xffc0) === 0xfe80 || (g[0] & 0xff00) === 0xff00) return true;
  // IPv4 embedded in IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d).
  const embeds =
    (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) ||
    (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0));
  return embeds && isNonPublicV4(`${g[6] >> 8}.${g[6] & 255}.${g[7] >> 8}.${g[7] & 255}`);
}

/**
 * Whether a normalised destination points into a private network: a loopback, private, link-local
 * or metadata address. The WHATWG parser has already turned every IPv4 spelling (decimal, octal, hex,
 * short forms like 127.1) into dotted quads, so the checks read the parsed host.
 */
export function isNonPublicDestination(normalized: string): boolean {
  const host = new URL(normalized).hostname.toLowerCase().replace(/\.$/, "");
  if (host.startsWith("[")) return isNonPublicV6(host.slice(1, -1));
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(host)) return isNonPublicV4(host);
  return NON_PUBLIC_NAMES.test(host);
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
