import { drainOutbox } from "./events/pipeline";
import { forwardToGa4 } from "./ga4/forward";
import { wakeGa4SenderIfDue } from "./ga4/send";
import { forwardToWebhooks } from "./webhooks/forward";
import { wakeWebhookSenderIfDue } from "./webhooks/send";
import { housekeepInTurns } from "./housekeeping/purge";
import { fillZonesInTurns } from "./queue";

/** The cron that runs every minute; the other is the daily housekeeping. */
export const EVERY_MINUTE = "* * * * *";

export async function handleScheduled(controller: ScheduledController, env: Env): Promise<void> {
  // The outbox is applied within seconds through the queue; this catches up if a wake was lost.
  if (controller.cron === EVERY_MINUTE) {
    await drainOutbox(env.DB, { budgetMs: 20_000 });
    await forwardToGa4(env);
    await forwardToWebhooks(env);
    await wakeGa4SenderIfDue(env, controller.scheduledTime);
    await wakeWebhookSenderIfDue(env, controller.scheduledTime);
    return;
  }
  await housekeepInTurns(env, controller.scheduledTime);
  // Picks up retention copies whose queued turns were lost.
  await fillZonesInTurns(env);
}
