import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Delivered } from "./webhook-received";

/**
 * A local receiver for outbound webhooks, on 127.0.0.1: endpoints point at `/r/<name>`. It verifies every
 * delivery as the Standard Webhooks specification (1.0) describes, with Node's own crypto rather than the
 * Worker's code: the key is the base64 after `whsec_`, the signed content `<webhook-id>.<webhook-timestamp>.<body>`,
 * the header a space-separated list of `v1,<base64 HMAC-SHA256>` of which one must match (compared in constant
 * time), and the timestamp within five minutes of now. Tests drive it over HTTP:
 *
 * - `POST /__receiver/secret?name=…` `{ secret }`: the endpoint's secret, to verify with
 * - `POST /__receiver/mode?name=…` `{ status?, retryAfter?, drop?, times? }`: answer `status` (or drop the
 *   connection) to that many deliveries (all, without `times`), then 204 again
 * - `GET /__receiver/received?name=…` → `Delivered[]` (./webhook-received.ts)
 */

type Mode = { status?: number; retryAfter?: number; drop?: boolean; times?: number };
const TOLERANCE_S = 5 * 60;

export function verifyStandardWebhook(secret: string, headers: Record<string, string>, body: string): string | null {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signatures = headers["webhook-signature"];
  if (!id || !timestamp || !signatures) return "missing webhook-id, webhook-timestamp or webhook-signature";
  if (!/^\d+$/.test(timestamp)) return "webhook-timestamp is not whole seconds";
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_S) return "webhook-timestamp is too old or new";
  if (!secret.startsWith("whsec_")) return "the secret does not start with whsec_";
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest();
  for (const signature of signatures.split(" ")) {
    const [version, value] = signature.split(",");
    if (version !== "v1" || !value) continue;
    const given = Buffer.from(value, "base64");
    if (given.length === expected.length && timingSafeEqual(given, expected)) return null;
  }
  return "no v1 signature matches";
}

export async function startWebhookReceiver(): Promise<{ url: string; close: () => Promise<void> }> {
  const received = new Map<string, Delivered[]>();
  const modes = new Map<string, Mode>();
  const secrets = new Map<string, string>();

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      req.on("error", reject);
    });

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const body = await readBody(req);
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    const name = url.searchParams.get("name") ?? "";
    if (url.pathname === "/__receiver/received") return json(200, received.get(name) ?? []);
    if (url.pathname === "/__receiver/secret") {
      secrets.set(name, (JSON.parse(body) as { secret: string }).secret);
      return json(200, { ok: true });
    }
    if (url.pathname === "/__receiver/mode") {
      modes.set(name, JSON.parse(body || "{}") as Mode);
      return json(200, { ok: true });
    }
    const match = /^\/r\/([\w-]+)$/.exec(url.pathname);
    if (!match || req.method !== "POST") return json(404, { error: "not found" });
    const endpoint = match[1];
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]),
    );
    const secret = secrets.get(endpoint);
    const problem = secret ? verifyStandardWebhook(secret, headers, body) : "no secret registered for this endpoint";
    const mode = modes.get(endpoint);
    const failing = mode && (mode.status !== undefined || mode.drop) && (mode.times === undefined || mode.times > 0);
    if (failing && mode.times !== undefined) mode.times -= 1;
    const answered = failing ? (mode.drop ? "dropped" : mode.status!) : 204;
    received.set(endpoint, [
      ...(received.get(endpoint) ?? []),
      { at: Date.now(), headers, body, verified: problem === null, problem, answered },
    ]);
    if (answered === "dropped") {
      req.socket.destroy();
      return;
    }
    const extra: Record<string, string> = failing && mode.retryAfter ? { "retry-after": String(mode.retryAfter) } : {};
    // A redirect answer points somewhere that would accept it: a sender that followed it would look delivered.
    if (answered >= 300 && answered < 400) extra.location = `/r/${endpoint}-moved`;
    res.writeHead(answered, extra);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
