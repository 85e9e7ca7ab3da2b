import { createMiddleware } from "hono/factory";
import { createDb } from "../db/client";
import { readAsOf } from "../events/pipeline";
import type { AppEnv } from "../types";

/**
 * For reads of what is derived from raw events (reports, exports, a message's state): first applies
 * what the outbox holds, within a bound, and sets `asOf`, the time up to which the read is complete.
 * Runs after authentication, so a refused request changes nothing.
 *
 * It all runs in one D1 session that starts on the primary: the session's later queries may be served
 * by a read replica, but only one that has caught up with what the primary held after the outbox was
 * applied, so the read is as complete as `asOf` says. The request's reads therefore go through
 * `c.var.d1` and `c.var.db`, never `c.env.DB`.
 */
export const caughtUp = createMiddleware<AppEnv>(async (c, next) => {
  const session = c.env.DB.withSession("first-primary");
  c.set("asOf", await readAsOf(session, c.var.receivedAt));
  c.set("d1", session);
  c.set("db", createDb(session));
  await next();
});
