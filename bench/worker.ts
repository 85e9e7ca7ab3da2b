import worker from "../src/index";
import type { QueueMessage } from "../src/queue";
import { benchRoute } from "./seed";

// Both routes pass through this wrapper in the same workerd process, so the gap between them is
// what the tracked redirect itself costs.
function bare302(): Response {
  return new Response(null, {
    status: 302,
    headers: { Location: "https://example.com/", "Cache-Control": "no-store" },
  });
}

export default {
  fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (request.method === "GET" && pathname === "/__bare") return bare302();
    // Bulk seeding and row counts for the reports benchmark (bench/seed.ts).
    if (pathname.startsWith("/__bench/")) return benchRoute(request, env);
    return worker.fetch(request, env, ctx);
  },
  queue: worker.queue,
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Env, QueueMessage>;
