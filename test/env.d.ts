import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      DB_1: D1Database;
      TEST_WEBHOOK_RECEIVER: string;
      SMALL_AUTH_FAILURE_LIMITER: RateLimit;
      SMALL_API_KEY_LIMITER: RateLimit;
      SMALL_LINK_CREATION_LIMITER: RateLimit;
      SMALL_BEACON_LIMITER: RateLimit;
      SMALL_PIXEL_LIMITER: RateLimit;
    }
  }
}
