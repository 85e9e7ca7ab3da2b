import { customAlphabet } from "nanoid";

const alphanumeric = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
// Short codes are read and typed by people: no 0/O, 1/l/I look-alikes.
const readable = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

const entityId = customAlphabet(alphanumeric, 16);
const secretPart = customAlphabet(alphanumeric, 32); // ~190 bits
const publishablePart = customAlphabet(alphanumeric, 24);

export const newLinkCode = customAlphabet(readable, 7);
export const newClickId = customAlphabet(alphanumeric, 16);

export type IdPrefix = "ws" | "key" | "cmp" | "lnk" | "cnv" | "evt" | "ga4" | "whe" | "msg";

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${entityId()}`;
}

export const API_KEY_PREFIX = "cf_sk_";
export const PUBLISHABLE_KEY_PREFIX = "cf_pk_";

export function newApiKey(): string {
  return API_KEY_PREFIX + secretPart();
}

export function newPublishableKey(): string {
  return PUBLISHABLE_KEY_PREFIX + publishablePart();
}
