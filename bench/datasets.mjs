// The reports bench's datasets, kept between runs. Seeding 1M messages and applying them through the
// rollups' consumer takes about 22 minutes on a 2-core machine; measuring them takes a few. A kept
// dataset is the local D1 of one size, as the seeding left it, and what a run needs to serve it again:
// the bench's secrets (random, made for the bench), its workspace, keys and data window, and how long the
// seeding took. A dataset is used again only by a run of the same code (a hash of everything that decides
// what the rows and rollups are: src/, migrations/, the seed, wrangler.toml, the lockfile) on the same UTC
// day (the data window is placed from the day); only the latest code's datasets are kept.
// BENCH_FRESH_DATASETS=1 seeds afresh and keeps nothing.
import { createHash } from "node:crypto";
import { cp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { ROOT } from "./harness.mjs";

const CACHE = path.join(ROOT, "node_modules", ".cache", "chatfunnel-bench", "datasets");
const INPUTS = ["src", "migrations", "bench/seed.ts", "bench/datasets.mjs", "wrangler.toml", "package-lock.json"];

export const keepDatasets = !process.env.BENCH_FRESH_DATASETS;

async function filesUnder(relative) {
  const full = path.join(ROOT, relative);
  const entries = await readdir(full, { recursive: true, withFileTypes: true }).catch((err) => {
    if (err.code === "ENOTDIR") return null;
    throw err;
  });
  if (entries === null) return [relative];
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)))
    .sort();
}

/** What a kept dataset must have been made with: a hash of the code and the UTC day of `now`. */
export async function datasetKey(now = Date.now()) {
  const hash = createHash("sha256");
  for (const input of INPUTS) {
    for (const file of await filesUnder(input)) {
      hash.update(`${file}\0`);
      hash.update(await readFile(path.join(ROOT, file)));
      hash.update("\0");
    }
  }
  return `${new Date(now).toISOString().slice(0, 10)}-${hash.digest("hex").slice(0, 16)}`;
}

const dirOf = (key, size) => path.join(CACHE, key, String(size));

/** The kept dataset of `size` for `key`, or null: its meta, and where its D1 state is. */
export async function findDataset(key, size) {
  if (!keepDatasets) return null;
  const dir = dirOf(key, size);
  const meta = await readFile(path.join(dir, "meta.json"), "utf8").catch(() => null);
  return meta === null ? null : { meta: JSON.parse(meta), state: path.join(dir, "state") };
}

/** Copies a kept dataset's D1 state to `stateDir` (which a server then serves). */
export async function restoreDataset(dataset, stateDir) {
  await rm(stateDir, { recursive: true, force: true });
  await cp(dataset.state, stateDir, { recursive: true });
}

/**
 * Keeps the D1 state in `stateDir` (its server stopped, so that the files are whole) as the dataset of
 * `size` for `key`, and drops the datasets of other keys. The meta is written last: a copy cut short is
 * never found.
 */
export async function keepDataset(key, size, stateDir, meta) {
  if (!keepDatasets) return;
  for (const other of await readdir(CACHE).catch(() => [])) {
    if (other !== key) await rm(path.join(CACHE, other), { recursive: true, force: true });
  }
  const dir = dirOf(key, size);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await cp(stateDir, path.join(dir, "state"), { recursive: true });
  await writeFile(path.join(dir, "meta.json"), JSON.stringify(meta));
}
