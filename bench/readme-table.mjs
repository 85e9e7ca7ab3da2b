// The README's performance table, made from the figures of the last complete `npm run bench` (kept in
// bench/results.json, which that run writes) and never edited by hand: `node bench/readme-table.mjs --check`
// (run by .ci/run) fails when the README's table is not the one the results make; `--write` remakes it.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import * as prettier from "prettier";
import { ROOT } from "./harness.mjs";

export const RESULTS = path.join(ROOT, "bench", "results.json");
const README = path.join(ROOT, "README.md");
const START = "<!-- bench:table:start (made by npm run bench from bench/results.json; do not edit) -->";
const END = "<!-- bench:table:end -->";

const fixed = (digits) => (n) => (n === null || n === undefined ? "–" : n.toFixed(digits));
const times = (n) => (n === null || n === undefined ? "–" : `${n.toFixed(2)}×`);
const whole = (n) => (n === null || n === undefined ? "–" : Math.round(n).toLocaleString("en-US"));
const ms = fixed(1);

/** The table, as Markdown, with the machine and date it was measured on. */
export function renderTable(figures) {
  const { redirect, ingest, reports, audiences, bundle, storage, machine, datasets } = figures;
  const rows = [
    ["redirect `GET /:code`, throughput / bare 302", times(redirect.throughputRatio), "≥ 0.90×"],
    ["redirect p50 / bare 302", times(redirect.p50Ratio), ""],
    ["redirect p99 / bare 302", times(redirect.p99Ratio), "≤ 1.20×"],
    ["redirects answered whose click was lost", whole(redirect.clicksLost), "0"],
    ["signed single-status webhooks / s", whole(ingest.webhooksPerSecond), "3,000"],
    ["webhooks / bare POST", times(ingest.webhooksRatio), ""],
    ["statuses / s in bodies of 10,000", whole(ingest.statusesPerSecond), "50,000"],
    ["conversion beacons / s", whole(ingest.beaconsPerSecond), ""],
    ["rollups caught up after the last body, s", fixed(1)(ingest.rollupCatchUpSeconds), "≤ 10"],
    ["funnel report median, 100k messages, ms", ms(reports.funnelMedianMs100k), ""],
    ["funnel report median, 1M messages, ms", ms(reports.funnelMedianMs1M), ""],
    ["retention (weeks, UTC) median, 1M, ms", ms(reports.retentionMedianMs1M), ""],
    ["campaign retention median, 1M, ms", ms(reports.campaignRetentionMedianMs1M), "≤ 200"],
    ["largest report median 1M / 100k", times(reports.growthRatio), "≤ 1.50×"],
    ["audience deep page median, 1M, ms", ms(audiences.pageMedianMs1M), ""],
    ["bare 302 through the same server, ms", ms(reports.bareMedianMs), ""],
    ["bytes on disk per message", whole(storage?.bytesPerMessage), ""],
    ["bundle, KB gzipped", fixed(1)(bundle.gzipKB), "≤ 150"],
    ["start-up to first answer / bare Worker, ms", `${ms(bundle.startupMs)} / ${ms(bundle.bareStartupMs)}`, ""],
  ];
  const sizes = datasets?.kept?.map((n) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`)) ?? [];
  const kept = sizes.length
    ? `; the ${sizes.join(" and ")} report datasets were kept from an earlier run of the same code`
    : "";
  return [
    START,
    `Measured by \`npm run bench\` on ${machine.date.slice(0, 10)}${machine.commit ? ` at commit ${machine.commit}` : ""}: ${machine.cpus} × ${machine.cpuModel}, Node.js ${machine.node}, ${Math.round(machine.seconds / 60)} minutes${kept}.`,
    "",
    "| figure | measured | target |",
    "| --- | ---: | ---: |",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
    END,
  ].join("\n");
}

function replaceTable(readme, table) {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no performance table between ${START} and ${END}`);
  return readme.slice(0, start) + table + readme.slice(end + END.length);
}

/** A file's text as the project's Prettier settings format it (the format check runs on both files). */
async function formatted(file, text) {
  return prettier.format(text, { ...(await prettier.resolveConfig(file)), filepath: file });
}

/** The README with the table `figures` make. */
async function readmeWith(figures) {
  return formatted(README, replaceTable(await readFile(README, "utf8"), renderTable(figures)));
}

/** Keeps `figures` as the latest results and puts their table into the README. */
export async function saveResults(figures) {
  await writeFile(RESULTS, await formatted(RESULTS, JSON.stringify(figures)));
  await writeFile(README, await readmeWith(figures));
}

// --write remakes the table from the kept results (after a change to this file's layout, not to the figures).
if (process.argv[1] === new URL(import.meta.url).pathname && process.argv.includes("--write")) {
  await writeFile(README, await readmeWith(JSON.parse(await readFile(RESULTS, "utf8"))));
}

if (process.argv[1] === new URL(import.meta.url).pathname && process.argv.includes("--check")) {
  const figures = JSON.parse(await readFile(RESULTS, "utf8"));
  if ((await readmeWith(figures)) !== (await readFile(README, "utf8"))) {
    console.error("README.md's performance table is not the one bench/results.json makes: run npm run bench.");
    process.exit(1);
  }
  console.log("README.md's performance table matches bench/results.json");
}
