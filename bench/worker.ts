import worker from "../src/index";
import type { QueueMessage } from "../src/queue";

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
    if (request.method === "GET" && new URL(request.url).pathname === "/__bare") return bare302();
    return worker.fetch(request, env, ctx);
  },
  queue: worker.queue,
  scheduled: worker.scheduled,
} satisfies ExportedHandler<Env, QueueMessage>;
