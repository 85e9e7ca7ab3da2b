const encoder = new TextEncoder();

// Hashing runs once per status in a webhook body, so the hex conversion avoids per-byte allocations.
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

function toHex(buffer: ArrayBuffer): string {
  let hex = "";
  for (const byte of new Uint8Array(buffer)) hex += HEX[byte];
  return hex;
}

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function fromBase64(value: string): Uint8Array {
  return Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
}

export async function sha256Hex(value: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", encoder.encode(value)));
}

// Keys are imported once per secret: the pepper, each workspace's app secret.
// The cache forgets everything when it is full, which only costs the next imports.
const MAX_HMAC_KEYS = 1_000;
const hmacKeys = new Map<string, Promise<CryptoKey>>();

function importHmacKey(secret: string): Promise<CryptoKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    if (hmacKeys.size >= MAX_HMAC_KEYS) hmacKeys.clear();
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    hmacKeys.set(secret, key);
  }
  return key;
}

export async function hmacSha256Hex(secret: string, message: string | ArrayBuffer): Promise<string> {
  const data = typeof message === "string" ? encoder.encode(message) : message;
  return toHex(await crypto.subtle.sign("HMAC", await importHmacKey(secret), data));
}

/**
 * An HMAC-SHA256 key of `secret` that is not cached here, for a secret that must be forgotten with its
 * holder (a day's visitor salt); it cannot be exported.
 */
export function importHmacSecret(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

export async function hmacSha256HexWithKey(key: CryptoKey, message: string): Promise<string> {
  return toHex(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
}

/** `bytes` random bytes, base64-encoded. */
export function randomSecret(bytes: number): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** Whether `signature` is HMAC-SHA256(secret, data); `crypto.subtle.verify` compares in constant time. */
export async function verifyHmacSha256(secret: string, signature: Uint8Array, data: ArrayBuffer): Promise<boolean> {
  return crypto.subtle.verify("HMAC", await importHmacKey(secret), signature, data);
}

/**
 * Compares two secrets in constant time. Both sides are hashed first so that neither
 * their contents nor their lengths leak through timing.
 */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(ha, hb);
}

const aesKeys = new Map<string, Promise<CryptoKey>>();

function importDataKey(dataKey: string): Promise<CryptoKey> {
  let key = aesKeys.get(dataKey);
  if (!key) {
    const raw = fromBase64(dataKey);
    if (raw.length !== 32) throw new Error("DATA_KEY must be 32 bytes, base64-encoded");
    key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    aesKeys.set(dataKey, key);
  }
  return key;
}

/** AES-256-GCM; the output is `v1.<base64 iv>.<base64 ciphertext>` so the scheme can change later. */
export async function encryptJson(dataKey: string, value: unknown): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plaintext = encoder.encode(JSON.stringify(value));
  const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await importDataKey(dataKey), plaintext);
  return `v1.${toBase64(iv)}.${toBase64(new Uint8Array(ciphertext))}`;
}

export async function decryptJson<T>(dataKey: string, sealed: string): Promise<T> {
  const [version, iv, ciphertext] = sealed.split(".");
  if (version !== "v1" || !iv || !ciphertext) throw new Error("Unknown sealed value format");
  const plaintext = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64(iv) },
    await importDataKey(dataKey),
    fromBase64(ciphertext),
  );
  return JSON.parse(new TextDecoder().decode(plaintext)) as T;
}
