import { createMiddleware } from "hono/factory";
import { readAsOf } from "../events/pipeline";
import type { AppEnv } from "../types";

/**
 * For reads of what is derived from raw events (reports, exports, a message's state): first applies
 * what the outbox holds, within a bound, and sets `asOf`, the time up to which the read is complete.
 * Runs after authentication, so a refused request changes nothing.
 */
export const caughtUp = createMiddleware<AppEnv>(async (c, next) => {
  c.set("asOf", await readAsOf(c.env.DB, c.var.receivedAt));
  await next();
});
