import { API_KEY_PREFIX } from "../lib/ids";
import { toIso } from "../schemas/common";
import type { ApiKeyRow } from "./schema";

/** Enough of a key to recognise it in a list, never enough to use it. */
export function apiKeyHint(key: string): string {
  return `${API_KEY_PREFIX}…${key.slice(-4)}`;
}

export function serializeApiKey(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    hint: row.hint,
    createdAt: toIso(row.createdAt)!,
    lastUsedAt: toIso(row.lastUsedAt),
  };
}
