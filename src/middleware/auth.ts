import { createMiddleware } from "hono/factory";
import { findActiveApiKey, markApiKeyUsed } from "../db/api-key-auth";
import type { ApiScope } from "../db/schema";
import { ApiError } from "../errors";
import { secretsEqual, sha256Hex } from "../lib/crypto";
import type { AppEnv } from "../types";
import { rateLimited, withinLimit } from "./rate-limit";

const LAST_USED_RESOLUTION_MS = 60_000;

function bearerToken(header: string | undefined): string | null {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match ? match[1] : null;
}

/** API-key auth for one workspace: the key needs one of `scopes`; `admin` keys pass every check. */
export function requireApiKey(...scopes: [ApiScope, ...ApiScope[]]) {
  return createMiddleware<AppEnv>(async function requireApiKey(c, next) {
    const token = bearerToken(c.req.header("authorization"));
    if (!token) throw new ApiError("unauthorized", "Send an API key as `Authorization: Bearer <key>`.");
    const keyHash = await sha256Hex(token);
    const row = await findActiveApiKey(c.var.db, keyHash);
    // The index lookup is by hash; the final comparison is constant-time all the same.
    if (!row || !(await secretsEqual(row.key.keyHash, keyHash))) {
      throw new ApiError("unauthorized", "The API key is invalid or revoked.");
    }
    if (!(await withinLimit(c.env.API_KEY_LIMITER, row.key.id))) {
      throw rateLimited("This API key has made too many requests; try again after Retry-After seconds.");
    }
    if (!row.key.scopes.some((held) => held === "admin" || scopes.includes(held))) {
      throw new ApiError("forbidden", `This API key needs the \`${scopes.join("` or `")}\` scope.`);
    }
    const now = Date.now();
    if (!row.key.lastUsedAt || now - row.key.lastUsedAt > LAST_USED_RESOLUTION_MS) {
      c.executionCtx.waitUntil(
        markApiKeyUsed(c.var.db, row.key.id, now).catch((err) => console.error("last_used_at update failed", err)),
      );
    }
    c.set("auth", { workspace: row.workspace, apiKeyId: row.key.id, scopes: row.key.scopes });
    await next();
  });
}

export function requireAdminToken() {
  return createMiddleware<AppEnv>(async function requireAdminToken(c, next) {
    const token = bearerToken(c.req.header("authorization"));
    if (!token || !c.env.ADMIN_TOKEN || !(await secretsEqual(token, c.env.ADMIN_TOKEN))) {
      throw new ApiError("unauthorized", "Creating a workspace needs `Authorization: Bearer <ADMIN_TOKEN>`.");
    }
    await next();
  });
}
