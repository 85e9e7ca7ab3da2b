import { applyD1Migrations, env } from "cloudflare:test";

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
// The second database, onto which test/placement.test.ts moves workspaces, has the same schema.
await applyD1Migrations(env.DB_1, env.TEST_MIGRATIONS);
