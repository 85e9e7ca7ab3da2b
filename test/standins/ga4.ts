import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { checkMeasurementBody, GA4_LIMITS } from "../../src/lib/ga4-rules.ts";
import type { Received } from "./ga4-received";

/**
 * A local stand-in for GA4's Measurement Protocol endpoint, on 127.0.0.1: the Worker under test posts
 * to it through GA4_ENDPOINT. It checks every request the way GA4 documents it (POST, JSON, the query
 * string, the body's size and every rule of the protocol) and keeps what it received, per measurement
 * id, so that tests running side by side each read their own. Tests drive it over HTTP:
 *
 * - `GET /__standin/received?measurement_id=G-…` → `[{ at, query, contentType, body, problems, answered }]`
 * - `POST /__standin/mode?measurement_id=G-…` `{ status?: number, drop?: boolean, times?: number }`: answer
 *   `status` (or drop the connection) to that many requests (all, without `times`), then 204 again
 * - `POST /__standin/reset?measurement_id=G-…`
 *
 * Like GA4's production endpoint it answers 204 to whatever it accepts, malformed or not: `problems` is
 * how a test sees what GA4 would silently have dropped. What it keeps is typed in ./ga4-received.ts.
 */

type Mode = { status?: number; drop?: boolean; times?: number };

export async function startGa4StandIn(): Promise<{ url: string; close: () => Promise<void> }> {
  const received = new Map<string, Received[]>();
  const modes = new Map<string, Mode>();

  const readBody = (req: IncomingMessage) =>
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks)));
      req.on("error", reject);
    });

  const json = (res: ServerResponse, status: number, value: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(value));
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const measurementId = url.searchParams.get("measurement_id") ?? "";
    const raw = await readBody(req);
    if (url.pathname === "/__standin/received") return json(res, 200, received.get(measurementId) ?? []);
    if (url.pathname === "/__standin/mode") {
      modes.set(measurementId, JSON.parse(raw.toString("utf8") || "{}") as Mode);
      return json(res, 200, { ok: true });
    }
    if (url.pathname === "/__standin/reset") {
      received.delete(measurementId);
      modes.delete(measurementId);
      return json(res, 200, { ok: true });
    }
    if (url.pathname !== "/mp/collect") return json(res, 404, { error: "not found" });

    const problems: Received["problems"] = [];
    // GA4-T01: POST only; GA4-T03: both ids in the query string; GA4-T04: JSON; GA4-T05: under 130 kB.
    if (req.method !== "POST") problems.push({ rule: "GA4-T01", path: "method", message: `${req.method} is not POST` });
    if (!/^G-[A-Z0-9]+$/.test(measurementId))
      problems.push({ rule: "GA4-T03", path: "measurement_id", message: "missing" });
    if (!url.searchParams.get("api_secret")) problems.push({ rule: "GA4-T03", path: "api_secret", message: "missing" });
    const contentType = req.headers["content-type"] ?? null;
    if (!contentType?.startsWith("application/json")) {
      problems.push({ rule: "GA4-T04", path: "content-type", message: `${contentType} is not JSON` });
    }
    if (raw.length >= GA4_LIMITS.bodyBytes)
      problems.push({ rule: "GA4-T05", path: "body", message: `${raw.length} bytes` });
    let body: unknown = null;
    try {
      body = JSON.parse(raw.toString("utf8"));
      problems.push(...checkMeasurementBody(body, Date.now()));
    } catch {
      problems.push({ rule: "GA4-T04", path: "body", message: "not JSON" });
    }

    const mode = modes.get(measurementId);
    const failing = mode && (mode.status !== undefined || mode.drop) && (mode.times === undefined || mode.times > 0);
    if (failing && mode.times !== undefined) mode.times -= 1;
    const entry: Received = {
      at: Date.now(),
      method: req.method ?? "",
      query: Object.fromEntries(url.searchParams),
      contentType,
      bytes: raw.length,
      body,
      problems,
      answered: failing ? (mode.drop ? "dropped" : (mode.status ?? 503)) : 204,
    };
    received.set(measurementId, [...(received.get(measurementId) ?? []), entry]);
    if (failing && mode.drop) {
      req.socket.destroy();
      return;
    }
    res.writeHead(entry.answered as number);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  // The test run's process exits when its work is done, whether or not this server is still listening.
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
