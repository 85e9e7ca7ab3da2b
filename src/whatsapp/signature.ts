import { verifyHmacSha256 } from "../lib/crypto";

function hexToBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/**
 * Checks `X-Hub-Signature-256: sha256=<hex>` against HMAC-SHA256(app secret, body) over the body's
 * bytes exactly as received. Meta signs its wire form, in which non-ASCII text is \u-escaped; parsing
 * and re-serialising the JSON would change those bytes. `crypto.subtle.verify` compares in constant time.
 */
export async function verifyHubSignature(
  appSecret: string,
  body: ArrayBuffer,
  header: string | undefined,
): Promise<boolean> {
  const match = header?.trim().match(/^sha256=([0-9a-fA-F]{64})$/);
  if (!match) return false;
  return verifyHmacSha256(appSecret, hexToBytes(match[1]), body);
}
