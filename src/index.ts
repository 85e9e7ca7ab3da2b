import { app } from "./app";
import { handleQueue } from "./queue";
import type { QueueMessage } from "./schemas/queue";
import { handleScheduled } from "./scheduled";

export default {
  fetch: app.fetch,
  queue: handleQueue,
  scheduled: handleScheduled,
} satisfies ExportedHandler<Env, QueueMessage>;
