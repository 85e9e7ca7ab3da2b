// Punycode (RFC 3492), to read the labels of a host as the WHATWG parser writes them (`xn--…`).
const BASE = 36;
const T_MIN = 1;
const T_MAX = 26;

function adapt(delta: number, points: number, first: boolean): number {
  let d = first ? Math.floor(delta / 700) : delta >> 1;
  d += Math.floor(d / points);
  let k = 0;
  for (; d > ((BASE - T_MIN) * T_MAX) >> 1; k += BASE) d = Math.floor(d / (BASE - T_MIN));
  return k + Math.floor(((BASE - T_MIN + 1) * d) / (d + 38));
}

function digitOf(code: number): number {
  if (code >= 48 && code <= 57) return code - 22;
  if (code >= 65 && code <= 90) return code - 65;
  if (code >= 97 && code <= 122) return code - 97;
  return BASE;
}

/** The Unicode form of one `xn--` label's payload, or null when it is not valid Punycode. */
function decodePunycode(input: string): string | null {
  const basicEnd = Math.max(input.lastIndexOf("-"), 0);
  const output = [...input.slice(0, basicEnd)].map((ch) => ch.charCodeAt(0));
  let [n, bias, i] = [128, 72, 0];
  for (let index = basicEnd > 0 ? basicEnd + 1 : 0; index < input.length;) {
    const start = i;
    for (let w = 1, k = BASE; ; k += BASE) {
      if (index >= input.length) return null;
      const digit = digitOf(input.charCodeAt(index++));
      if (digit >= BASE) return null;
      i += digit * w;
      const t = k <= bias ? T_MIN : k >= bias + T_MAX ? T_MAX : k - bias;
      if (digit < t) break;
      w *= BASE - t;
    }
    bias = adapt(i - start, output.length + 1, start === 0);
    n += Math.floor(i / (output.length + 1));
    i %= output.length + 1;
    if (n > 0x10ffff) return null;
    output.splice(i++, 0, n);
  }
  return String.fromCodePoint(...output);
}

const LATIN = /\p{Script=Latin}/u;
const CYRILLIC = /\p{Script=Cyrillic}/u;
const GREEK = /\p{Script=Greek}/u;
// Cyrillic letters that read as Latin ones: a label of only these (and digits or hyphens) imitates a
// Latin name, as `аррӏе` does `apple`.
const LATIN_LOOKING_CYRILLIC = /^[асԁеһіјӏорԛѕԝхуъьҽпгѵѡ0-9-]+$/u;

/**
 * Whether a host (as the WHATWG parser writes it) imitates another: a label that mixes Latin, Cyrillic or
 * Greek letters (`аpple.com`, `gοοgle.com`), or that is all Cyrillic look-alikes of Latin letters under a
 * Latin top-level domain (`аррӏе.com`), the cases that browsers also show as Punycode. A Punycode label
 * that is invalid, or that holds anything but letters, marks, digits and hyphens, counts as one too.
 */
export function isLookalikeHost(host: string): boolean {
  if (host.startsWith("[")) return false;
  const decoded: string[] = [];
  for (const label of host.toLowerCase().split(".")) {
    const unicode = label.startsWith("xn--") ? decodePunycode(label.slice(4)) : label;
    if (unicode === null || (unicode !== label && !/^[\p{L}\p{M}\p{N}-]+$/u.test(unicode))) return true;
    decoded.push(unicode);
  }
  const latinTld = /^[a-z0-9-]*$/.test(decoded[decoded.length - 1] ?? "");
  return decoded.some((label) => {
    const scripts = [LATIN, CYRILLIC, GREEK].filter((script) => script.test(label)).length;
    return scripts > 1 || (latinTld && CYRILLIC.test(label) && LATIN_LOOKING_CYRILLIC.test(label));
  });
}
