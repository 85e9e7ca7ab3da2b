import { readPlacement } from "../db/placement";
import { TtlCache } from "../lib/ttl-cache";

/**
 * Which D1 database holds a workspace (docs/scaling.md, "Past one database"): the directory database `DB`
 * keeps a placement per workspace, naming one of the Worker's D1 bindings (`DB`, `DB_1`, …).
 */

/** Names a workspace's database may have: `DB` (the directory) and `DB_<n>`. */
const BINDING_NAME = /^DB(_\d+)?$/;

/** The D1 database bound under `name`, or null when the Worker has no such D1 binding. */
export function boundDatabase(env: Env, name: string): D1Database | null {
  if (!BINDING_NAME.test(name)) return null;
  const value = (env as unknown as Record<string, unknown>)[name];
  const d1 = value as Partial<D1Database> | null | undefined;
  return typeof d1?.prepare === "function" && typeof d1.batch === "function" ? (value as D1Database) : null;
}

// Every request of a placed workspace would ask for its database, and placements change only when a
// workspace moves, so each isolate keeps them a while, like workspace settings. A move is seen at once by
// the isolate that made it; others keep reading the old database until their entry expires, which is why a
// move deletes the old rows only after the switch (and why the TTL is short).
const TTL_MS = 10_000;
const cache = new TtlCache<string>(TTL_MS, 20_000);

/** The binding that holds the workspace's rows now (during a move, still the one it is leaving). */
export async function bindingFor(env: Env, workspaceId: string): Promise<string> {
  const hit = cache.get(workspaceId);
  if (hit !== undefined) return hit;
  const { binding } = await readPlacement(env.DB, workspaceId);
  cache.set(workspaceId, binding);
  return binding;
}

/** The D1 database that holds the workspace's rows. */
export async function databaseFor(env: Env, workspaceId: string): Promise<D1Database> {
  const binding = await bindingFor(env, workspaceId);
  const d1 = boundDatabase(env, binding);
  // A placement names a binding this Worker lacks only when wrangler.toml lost one: never fall back to
  // another database, where the workspace would look empty.
  if (!d1) throw new Error(`Workspace ${workspaceId} is placed on ${binding}, which is not a D1 binding here`);
  return d1;
}

/** Call when the workspace's placement changes. */
export function forgetPlacement(workspaceId: string): void {
  cache.delete(workspaceId);
}
