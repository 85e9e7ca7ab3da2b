import { claimDueGa4Events, nextGa4Due, readForwardingWorkspaces, settleGa4Events, type Ga4Outcomes } from "../db/ga4";
import type { Ga4EventRow } from "../db/schema";
import { isTooOld, packRequests, type BuiltEvent, type Ga4Event, type Ga4RequestConsent } from "../lib/ga4-events";
import { MAX_QUEUE_DELAY_S, wakeSender, wakeSenderIfDue } from "../events/deliveries";
import { checkEvent, checkMeasurementBody, type Ga4Issue } from "../lib/ga4-rules";
import { ga4Target, type Ga4Target } from "./target";

/**
 * Sends what waits in ga4_events to GA4's Measurement Protocol, one turn at a time: a turn claims the
 * events that are due, checks each against the protocol's rules (GA4 answers 2xx even to malformed
 * bodies, so nobody would ever notice otherwise), packs them into requests of one client id and
 * consent (at most 25 events, under 130 kB), and records what became of each. Network errors, 408,
 * 429 and 5xx are retried with back-off; after MAX_ATTEMPTS, or at once for what can never be sent
 * (a refused request, a body that breaks the rules, forwarding turned off), an event is kept as
 * failed until it is replayed. Turns run in the deliveries queue's consumer, woken by the forwarder,
 * by themselves when retries are due, and by the minute cron.
 */

/** Events one turn claims; a full turn wakes the next at once. */
export const TURN_EVENTS = 500;
export const MAX_ATTEMPTS = 10;
const REQUEST_TIMEOUT_MS = 10_000;
/** Seconds to wait after the nth failed attempt (the last repeats); about 28 hours in all. */
export const RETRY_DELAYS_S = [30, 120, 600, 1_800, 3_600, 7_200, 14_400, 28_800, 43_200];

export function retryDelayMs(attempts: number, retryAfterS: number | null, random = Math.random()): number {
  const base = RETRY_DELAYS_S[Math.min(attempts, RETRY_DELAYS_S.length) - 1] * 1000;
  const jittered = base * (0.8 + 0.4 * random);
  return Math.max(jittered, (retryAfterS ?? 0) * 1000);
}

/** Wakes the sender when events are due that no turn holds. */
export async function wakeGa4SenderIfDue(env: Env, now = Date.now()): Promise<void> {
  await wakeSenderIfDue(env, "ga4", await nextGa4Due(env.DB), now);
}

export type TurnResult = { claimed: number; sent: number; retried: number; failed: number; skipped: number };

type Attempt =
  { ok: true } | { ok: false; retry: boolean; reason: string; retryAfterS: number | null; status: number | null };

export type Sender = (target: Ga4Target, body: unknown) => Promise<Attempt>;

/** One POST to GA4, classified: 2xx accepted; network errors, 408, 429 and 5xx worth retrying; the rest refused. */
export const postToGa4: Sender = async (target, body) => {
  let response: Response;
  try {
    response = await fetch(target.collectUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    // The URL carries the API secret: a reason never repeats what the runtime says about it.
    const name = err instanceof Error ? err.name : "Error";
    const reason = name === "TimeoutError" ? "GA4 did not answer within 10 s" : `GA4 could not be reached (${name})`;
    return { ok: false, retry: true, reason, retryAfterS: null, status: null };
  }
  await response.body?.cancel();
  if (response.ok) return { ok: true };
  const status = response.status;
  const retry = status === 408 || status === 429 || status >= 500;
  const retryAfter = Number(response.headers.get("retry-after"));
  return {
    ok: false,
    retry,
    reason: `GA4 answered HTTP ${status}`,
    retryAfterS: Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, MAX_QUEUE_DELAY_S) : null,
    status,
  };
};

const describe = (issues: Ga4Issue[]) =>
  `Breaks GA4's rules: ${issues
    .slice(0, 3)
    .map((i) => `${i.rule} ${i.path}: ${i.message}`)
    .join("; ")}`;

type Claimed = Ga4EventRow & BuiltEvent;

/** Runs one turn; wakes the next (at once when the turn was full, else when the next retry is due). */
export async function sendGa4Turn(env: Env, now = Date.now(), send: Sender = postToGa4): Promise<TurnResult> {
  const rows = await claimDueGa4Events(env.DB, now, TURN_EVENTS);
  const outcomes: Ga4Outcomes = { sent: [], skipped: [], retry: [], failed: [] };
  if (rows.length > 0) {
    const workspaces = await readForwardingWorkspaces(env.DB, [...new Set(rows.map((r) => r.workspaceId))]);
    const byWorkspace = new Map<string, Ga4EventRow[]>();
    for (const row of rows) byWorkspace.set(row.workspaceId, [...(byWorkspace.get(row.workspaceId) ?? []), row]);
    // Workspaces are sent side by side: one whose GA4 is slow or down holds up no other.
    await Promise.all(
      [...byWorkspace].map(async ([workspaceId, events]) => {
        const workspace = workspaces.get(workspaceId);
        const target = workspace ? await ga4Target(env, workspace) : null;
        if (!target) {
          const reason = "GA4 forwarding is off: the workspace has no measurement id or API secret, or no endpoint";
          for (const e of events) outcomes.failed.push({ id: e.id, reason });
          return;
        }
        await sendWorkspace(target, events, now, send, outcomes);
      }),
    );
    await settleGa4Events(env.DB, outcomes, now);
  }
  if (rows.length >= TURN_EVENTS) await wakeSender(env, "ga4");
  else if (rows.length > 0) {
    const due = await nextGa4Due(env.DB);
    if (due !== null) await wakeSender(env, "ga4", (due - Date.now()) / 1000);
  }
  return {
    claimed: rows.length,
    sent: outcomes.sent.length,
    retried: outcomes.retry.length,
    failed: outcomes.failed.length,
    skipped: outcomes.skipped.length,
  };
}

async function sendWorkspace(target: Ga4Target, rows: Ga4EventRow[], now: number, send: Sender, outcomes: Ga4Outcomes) {
  const ready: Claimed[] = [];
  for (const row of rows) {
    // Retries can outlast GA4's 72 hours: what is now too old is skipped, as it would have been at first.
    if (isTooOld(row.occurredAt, now)) {
      outcomes.skipped.push(row);
      continue;
    }
    const issues = checkEvent(row.event, now);
    if (issues.length > 0) {
      outcomes.failed.push({ id: row.id, reason: describe(issues) });
      continue;
    }
    ready.push({ ...row, event: row.event as Ga4Event, consent: row.consent as Ga4RequestConsent });
  }
  const requests = packRequests(ready);
  for (let i = 0; i < requests.length; i++) {
    const { body, events } = requests[i];
    const issues = checkMeasurementBody(body, now);
    if (issues.length > 0) {
      for (const e of events) outcomes.failed.push({ id: e.id, reason: describe(issues) });
      continue;
    }
    const attempt = await send(target, body);
    if (attempt.ok) {
      outcomes.sent.push(...events);
      continue;
    }
    console.warn(
      JSON.stringify({
        event: "ga4_send_failed",
        workspaceId: events[0].workspaceId,
        status: attempt.status,
        events: events.length,
      }),
    );
    if (!attempt.retry) {
      for (const e of events) outcomes.failed.push({ id: e.id, reason: attempt.reason });
      continue;
    }
    // GA4 is down or limiting: the rest of the workspace's requests would meet the same, so they wait
    // with this one, and the attempt counts for all of them.
    const waiting = [...events, ...requests.slice(i + 1).flatMap((r) => r.events)];
    for (const e of waiting) {
      if (e.attempts >= MAX_ATTEMPTS) {
        outcomes.failed.push({ id: e.id, reason: `${attempt.reason}, ${e.attempts} attempts` });
      } else {
        const nextAt = now + retryDelayMs(e.attempts, attempt.retryAfterS);
        outcomes.retry.push({ id: e.id, nextAt: Math.round(nextAt), reason: attempt.reason });
      }
    }
    return;
  }
}
