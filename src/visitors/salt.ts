import { claimVisitorSalt, deleteVisitorSaltsBefore } from "../db/visitor-salts";
import { DAY_MS } from "../lib/calendar";
import { decryptJson, encryptJson, importHmacSecret, randomSecret } from "../lib/crypto";
import { visitorSaltDay } from "../lib/visit";
import { loggableError } from "../lib/loggable-error";

/**
 * Each UTC day's visitor salt: random, created by whichever isolate needs it first, stored in D1 only
 * sealed with DATA_KEY, and deleted once older than two days (the day it hashes is over by then).
 * Unlike a salt derived from a long-lived secret, a deleted one cannot be derived again, so neither can
 * the visitor hashes it made.
 */

const SALT_BYTES = 32;
export const VISITOR_SALT_KEEP_MS = 2 * DAY_MS;

type SaltEnv = Pick<Env, "DB" | "DATA_KEY">;

// Per isolate, each day's salt as a key that cannot be exported, read from D1 once. Days before
// yesterday are dropped, so that a long-lived isolate does not keep a salt its row no longer has.
const salts = new Map<string, Promise<CryptoKey>>();

async function loadVisitorSalt(env: SaltEnv, day: string): Promise<CryptoKey> {
  const fresh = await encryptJson(env.DATA_KEY, randomSecret(SALT_BYTES));
  const sealed = await claimVisitorSalt(env.DB, day, fresh, Date.now());
  return importHmacSecret(await decryptJson<string>(env.DATA_KEY, sealed));
}

/** The salt of the UTC day of `at`, created if the day has none yet. */
export function visitorSalt(env: SaltEnv, at: number): Promise<CryptoKey> {
  const day = visitorSaltDay(at);
  let salt = salts.get(day);
  if (!salt) {
    const yesterday = visitorSaltDay(at - DAY_MS);
    for (const cached of salts.keys()) if (cached < yesterday) salts.delete(cached);
    salt = loadVisitorSalt(env, day).catch((err: unknown) => {
      salts.delete(day);
      throw err;
    });
    salts.set(day, salt);
  }
  return salt;
}

/**
 * The day's salt, or null when it cannot be had (D1 unavailable): the visit is then recorded without a
 * visitor hash (a human click counts as unique), and a visitor is not rate limited.
 */
export async function visitorSaltOrNull(env: SaltEnv, at: number): Promise<CryptoKey | null> {
  try {
    return await visitorSalt(env, at);
  } catch (err) {
    console.error(JSON.stringify({ event: "visitor_salt_unavailable", error: loggableError(err) }));
    return null;
  }
}

/** Forgets this isolate's salts, as a new isolate would start (the stored ones stay). */
export function forgetCachedVisitorSalts(): void {
  salts.clear();
}

/** Deletes the salts older than two days; says how many. */
export function deleteExpiredVisitorSalts(env: SaltEnv, now: number): Promise<number> {
  return deleteVisitorSaltsBefore(env.DB, now - VISITOR_SALT_KEEP_MS);
}
