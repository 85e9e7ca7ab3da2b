import worker from "../src/index";
import type { QueueMessage } from "../src/schemas/queue";
import { benchRoute } from "./seed";

// Every measured route is compared with one of these, served by the same wrapper in the same workerd
// process, so the gap between them is what the route itself costs.
function bare302(): Response {
  return new Response(null, {
    status: 302,
    headers: { Location: "https://example.com/", "Cache-Control": "no-store" },
  });
}

/** Reads the whole body, as any webhook handler must, and answers 200 without looking at it. */
async function bare200(request: Request): Promise<Response> {
  await request.arrayBuffer();
  return new Response(null, { status: 200, headers: { "Cache-Control": "no-store" } });
}

export default {
  fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === "/__bare") {
      if (request.method === "GET") return bare302();
      if (request.method === "POST") return bare200(request);
    }
    // Bulk seeding and row counts for the reports benchmark (bench/seed.ts).
    if (pathname.startsWith("/__bench/")) return benchRoute(request, env);
    return worker.fetch(request, env, ctx);
  },
  queue: worker.queue,
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Env, QueueMessage>;
