// WhatsApp webhook rounds, each against the bare POST /__bare (which reads the body and answers 200)
// with the same bodies on the same connections: single-status bodies through autocannon, and bodies
// of many statuses posted with fetch. Every webhook answer is checked and remembered, so that what is
// stored can be checked afterwards.
import { api } from "./harness.mjs";
import {
  alternateRounds,
  assertValid,
  CONNECTIONS,
  count,
  load,
  pct,
  percentile,
  printRound,
  printRoundHeader,
  row,
  WARMUP_SECONDS,
} from "./load.mjs";
import { startCpuMeter } from "./cpu.mjs";
import { STATUSES, stateMismatch, wamid } from "./webhook-bodies.mjs";

const SAMPLE_SIZE = 20;
// Meta's webhook requests: its User-Agent, a JSON body and the app-secret signature.
export const WEBHOOK_HEADERS = { "user-agent": "facebookexternalua", "content-type": "application/json" };

export function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export async function postWebhook(url, { body, signature }) {
  const res = await fetch(url, {
    method: "POST",
    headers: { ...WEBHOOK_HEADERS, "x-hub-signature-256": signature },
    body,
    signal: AbortSignal.timeout(60_000),
  });
  return { status: res.status, text: await res.text() };
}

/** Reads `samples` ({ kind, n, acked: Set of statuses }) back through the API; throws on any difference. */
export async function verifySamples(base, apiKey, label, samples) {
  const mismatches = [];
  await Promise.all(
    samples.map(async ({ kind, n, acked }) => {
      const state = await api(base, "GET", `/api/v1/messages/${wamid(kind, n)}`, apiKey, undefined, 200);
      const problem = stateMismatch(kind, n, acked, state);
      if (problem) mismatches.push(`${wamid(kind, n)}: ${problem}`);
    }),
  );
  if (mismatches.length > 0) throw new Error(`${label}: stored state differs:\n${mismatches.join("\n")}`);
  return `${samples.length} random wamids read back through GET /api/v1/messages/:id with the status and times sent`;
}

function randomSample(items, size) {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, size);
}

// ---- single-status bodies ----------------------------------------------------------------------

/**
 * An autocannon target posting the pool's bodies in turn, and how many it has sent; `hooks` see which
 * body went and its answer.
 */
function poolTarget(base, path, pool, hooks = {}) {
  let next = 0;
  const target = {
    url: base,
    headers: WEBHOOK_HEADERS,
    requests: [
      {
        method: "POST",
        path,
        // The context lives from one request's setup to its response (one request at a time per connection).
        setupRequest(request, context) {
          const i = next++ % pool.length;
          context.body = i;
          hooks.onSend?.(i);
          return {
            ...request,
            headers: { ...request.headers, "x-hub-signature-256": pool[i].signature },
            body: pool[i].body,
          };
        },
        onResponse: hooks.onAnswer && ((status, body, context) => hooks.onAnswer(context.body, status, body)),
      },
    ],
  };
  return { target, sent: () => next };
}

/**
 * Single-status webhooks, each body pre-signed and sent once, against the bare POST at CONNECTIONS
 * and then at `wideConnections`, in alternating rounds; tracks which webhooks were acknowledged.
 */
export async function benchWebhooks(base, url, pool, wideConnections) {
  const issued = new Uint8Array(pool.length);
  const acked = new Uint8Array(pool.length);
  let ackedCount = 0;
  let badAnswers = 0;
  const targets = {
    webhook: poolTarget(base, new URL(url).pathname, pool, {
      onSend: (i) => (issued[i] = 1),
      onAnswer(i, status, body) {
        if (status !== 200) return;
        const answer = parseJson(body);
        if (answer?.statuses !== 1 || answer.skipped !== 0) badAnswers++;
        else if (!acked[i]) ((acked[i] = 1), ackedCount++);
      },
    }),
    bare: poolTarget(base, "/__bare", pool),
  };

  async function measure(round, route, seconds, connections) {
    const ackedBefore = ackedCount;
    const run = await load({ ...targets[route].target, connections }, seconds, "2xx");
    const notes = [`${connections} connections`];
    if (route === "webhook") notes.push(`acknowledged ${ackedCount - ackedBefore} of ${run.sent} sent`);
    if (run.serverCpu !== null) {
      notes.push(`server CPU ${((1000 * run.serverCpu) / run.rps).toFixed(3)} ms per request`);
    }
    printRound(round, route, run, notes.join(", "));
    assertValid(route, run, "2xx");
    if (badAnswers > 0) throw new Error(`webhook: ${badAnswers} answers did not count exactly one status`);
    // Bodies sent twice would be stored already, a cheaper path than the one measured.
    const sent = targets.webhook.sent();
    if (sent > pool.length) {
      throw new Error(`webhook: ${sent} bodies sent from a pool of ${pool.length}; enlarge the pool so each goes once`);
    }
    return run;
  }

  console.log("");
  printRoundHeader("non-2xx");
  await measure("warm-up", "webhook", WARMUP_SECONDS, CONNECTIONS);
  await measure("warm-up", "bare", WARMUP_SECONDS, CONNECTIONS);
  const results = {};
  for (const connections of [CONNECTIONS, wideConnections]) {
    results[connections] = await alternateRounds("webhook", (round, route, seconds) =>
      measure(round, route, seconds, connections),
    );
  }
  return {
    narrow: results[CONNECTIONS],
    wide: results[wideConnections],
    sent: targets.webhook.sent(),
    acked: ackedCount,
    ...expectedState(pool, issued, acked),
  };
}

/**
 * What each wamid must show: a status whose body was sent but never answered (in flight when a round
 * ended) may or may not be stored, so only wamids without such a status are sampled.
 */
function expectedState(pool, issued, acked) {
  const byWamid = new Map();
  for (let i = 0; i < pool.length; i++) {
    if (!issued[i]) continue;
    const { n, status } = pool[i];
    const known = byWamid.get(n) ?? { acked: new Set(), unsure: false };
    if (acked[i]) known.acked.add(status);
    else known.unsure = true;
    byWamid.set(n, known);
  }
  const certain = [...byWamid].filter(([, k]) => !k.unsure && k.acked.size > 0);
  const samples = randomSample(certain, SAMPLE_SIZE).map(([n, k]) => ({ kind: "H", n, acked: k.acked }));
  const counts = Object.fromEntries(
    STATUSES.map((status) => {
      const sent = pool.filter((body, i) => body.status === status && issued[i]).length;
      return [status, { acked: pool.filter((body, i) => body.status === status && acked[i]).length, sent }];
    }),
  );
  return {
    wamids: { acked: [...byWamid.values()].filter((k) => k.acked.size > 0).length, sent: byWamid.size },
    counts,
    samples,
  };
}

// ---- bodies of many statuses -------------------------------------------------------------------

const LARGE_WIDTHS = [7, 7, 7, 8, 11, 8, 8, 7, 10, 10, 9];

function printLargeRound(round, route, run) {
  console.log(
    row(
      [
        round,
        route,
        run.bodies,
        run.bodiesPerSecond.toFixed(1),
        count(run.statusesPerSecond),
        run.p50.toFixed(0),
        run.p99.toFixed(0),
        run.failures.length,
        pct(run.clientCpu),
        pct(run.serverCpu),
        pct(run.otherCpu),
      ],
      LARGE_WIDTHS,
    ) + (run.serverCpuPerStatus === null ? "" : `  (server CPU ${run.serverCpuPerStatus.toFixed(1)} µs per status)`),
  );
}

/**
 * Posts bodies from `take` (null when none is left) to `url` on `connections` connections until
 * `seconds` have passed, awaiting every body in flight; `accepts(answer)` says whether an answer
 * stored the body whole.
 */
async function postBodies({ url, take, accepts, connections, seconds, statusesPerBody }) {
  const stopCpuMeter = await startCpuMeter();
  const latencies = [];
  const failures = [];
  const accepted = [];
  const start = performance.now();
  const stopAt = start + seconds * 1000;
  async function connection() {
    for (let body = take(); body !== null; body = performance.now() < stopAt ? take() : null) {
      const sentAt = performance.now();
      const answer = await postWebhook(url, body).catch((err) => ({ status: "error", text: String(err) }));
      latencies.push(performance.now() - sentAt);
      if (accepts(answer)) accepted.push(body);
      else failures.push(`${answer.status} ${answer.text.slice(0, 500)}`);
    }
  }
  await Promise.all(Array.from({ length: connections }, connection));
  const wall = (performance.now() - start) / 1000;
  const cpu = await stopCpuMeter(wall);
  const sorted = latencies.sort((a, b) => a - b);
  const statuses = accepted.length * statusesPerBody;
  return {
    bodies: latencies.length,
    accepted,
    failures,
    bodiesPerSecond: accepted.length / wall,
    statusesPerSecond: statuses / wall,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    // Server CPU time per status posted, in µs.
    serverCpuPerStatus: cpu.serverCpu === null || statuses === 0 ? null : (cpu.serverCpu * wall * 1e6) / statuses,
    ...cpu,
  };
}

/**
 * Large bodies, `connections` at a time: each webhook body is sent once (warm-up, then until `seconds`
 * pass or the pool is used up); the bare POST gets as many bodies, cycling through the pool, under the
 * same time limit.
 */
export async function benchLargeBodies(
  url,
  bareUrl,
  pool,
  { statuses, connections, warmUpBodies, seconds },
  afterWebhooks = async () => undefined,
) {
  let next = 0; // webhook bodies go once each, across rounds
  const routes = {
    webhook: {
      url,
      take(bodies) {
        const last = Math.min(pool.length, next + bodies);
        return () => (next < last ? pool[next++] : null);
      },
      accepts(answer) {
        const counted = answer.status === 200 ? parseJson(answer.text) : null;
        return counted?.statuses === statuses && counted.skipped === 0;
      },
    },
    bare: {
      url: bareUrl,
      take(bodies) {
        let taken = 0;
        return () => (taken < bodies ? pool[taken++ % pool.length] : null);
      },
      accepts: (answer) => answer.status === 200,
    },
  };

  async function measure(round, route, bodies, limitSeconds) {
    const { take, ...target } = routes[route];
    const run = await postBodies({
      ...target,
      take: take(bodies),
      connections,
      seconds: limitSeconds,
      statusesPerBody: statuses,
    });
    printLargeRound(round, route, run);
    if (run.failures.length > 0) {
      throw new Error(
        `${route}, large bodies: ${run.failures.length} answers were not as expected; first: ${run.failures[0]}`,
      );
    }
    if (run.serverRestarted) throw new Error(`${route}, large bodies: the workerd runtime restarted during the run`);
    return run;
  }

  console.log("");
  console.log(
    row(
      [
        "round",
        "route",
        "bodies",
        "bodies/s",
        "statuses/s",
        "p50 ms",
        "p99 ms",
        "non-2xx",
        "client CPU",
        "server CPU",
        "other CPU",
      ],
      LARGE_WIDTHS,
    ),
  );
  const warmUp = await measure("warm-up", "webhook", warmUpBodies, Infinity);
  await measure("warm-up", "bare", warmUpBodies, Infinity);
  const webhook = await measure(1, "webhook", Infinity, seconds);
  // Before the bare round, which would otherwise share the machine with whatever the webhooks left to do.
  const settled = await afterWebhooks();
  const bare = await measure(1, "bare", pool.length - warmUpBodies, seconds);
  const stored = [...warmUp.accepted, ...webhook.accepted];
  const picked = new Set();
  while (picked.size < SAMPLE_SIZE) {
    picked.add(stored[Math.floor(Math.random() * stored.length)].first + Math.floor(Math.random() * statuses));
  }
  const samples = [...picked].map((n) => ({ kind: "B", n, acked: new Set([STATUSES[(n % statuses) % 3]]) }));
  return { webhook, bare, samples, settled, storedBodies: stored.length };
}
