// Files the project generates and commits (the schema dump, reference data, the OpenAPI document): each
// script writes its file, or with `--check` (as CI runs it) fails when the committed file is not what it makes.
import { readFileSync, writeFileSync } from "node:fs";

const ROOT = new URL("..", import.meta.url);

export const checking = process.argv.includes("--check");

/**
 * Writes `text` to `file` (a path in the project); with `--check`, compares instead, and on a difference says
 * what it should be made from (`from`) and by which command, and sets a failing exit code.
 */
export function writeGenerated(file, text, { from, command }) {
  const target = new URL(file, ROOT);
  if (!checking) {
    writeFileSync(target, text);
    console.log(`wrote ${file} (${text.length} bytes)`);
    return;
  }
  let committed = "";
  try {
    committed = readFileSync(target, "utf8");
  } catch {
    // a missing file is out of date too
  }
  if (committed !== text) {
    console.error(`${file} is not what ${from} make; run \`${command}\` and commit it.`);
    process.exitCode = 1;
  }
}
