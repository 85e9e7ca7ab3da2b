CREATE TABLE `outbox` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`workspace_id` text NOT NULL,
	`type` text NOT NULL,
	`subject_id` text NOT NULL,
	`occurred_at` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `outbox_by_workspace` ON `outbox` (`workspace_id`,`seq`);
--> statement-breakpoint
-- A message reaches a step when its effective time for it first becomes known: a read implies
-- delivered, a human click implies read (as message state infers them). Step times only ever move
-- earlier and never back to NULL, so each step is emitted once, whatever the order of its statuses.
-- (One INSERT per step: D1 allows few terms in a compound SELECT.)
CREATE TRIGGER `outbox_message_new` AFTER INSERT ON `messages`
BEGIN
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  SELECT NEW.`workspace_id`, 'message.delivered', NEW.`id`, NULLIF(MIN(COALESCE(NEW.`delivered_at`, 9e15), COALESCE(NEW.`read_at`, 9e15), COALESCE(NEW.`clicked_at`, 9e15)), 9e15), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  WHERE NULLIF(MIN(COALESCE(NEW.`delivered_at`, 9e15), COALESCE(NEW.`read_at`, 9e15), COALESCE(NEW.`clicked_at`, 9e15)), 9e15) IS NOT NULL;
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  SELECT NEW.`workspace_id`, 'message.read', NEW.`id`, NULLIF(MIN(COALESCE(NEW.`read_at`, 9e15), COALESCE(NEW.`clicked_at`, 9e15)), 9e15), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  WHERE NULLIF(MIN(COALESCE(NEW.`read_at`, 9e15), COALESCE(NEW.`clicked_at`, 9e15)), 9e15) IS NOT NULL;
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  SELECT NEW.`workspace_id`, 'message.failed', NEW.`id`, NEW.`failed_at`, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  WHERE NEW.`failed_at` IS NOT NULL;
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  SELECT NEW.`workspace_id`, 'message.replied', NEW.`id`, NEW.`replied_at`, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  WHERE NEW.`replied_at` IS NOT NULL;
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  SELECT NEW.`workspace_id`, 'message.clicked', NEW.`id`, NEW.`clicked_at`, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  WHERE NEW.`clicked_at` IS NOT NULL;
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  SELECT NEW.`workspace_id`, 'message.converted', NEW.`id`, NEW.`converted_at`, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  WHERE NEW.`converted_at` IS NOT NULL;
END;
--> statement-breakpoint
CREATE TRIGGER `outbox_message_steps` AFTER UPDATE OF `delivered_at`, `read_at`, `failed_at`, `replied_at`, `clicked_at`, `converted_at` ON `messages`
WHEN (OLD.`delivered_at` IS NULL AND NEW.`delivered_at` IS NOT NULL) OR (OLD.`read_at` IS NULL AND NEW.`read_at` IS NOT NULL)
  OR (OLD.`failed_at` IS NULL AND NEW.`failed_at` IS NOT NULL) OR (OLD.`replied_at` IS NULL AND NEW.`replied_at` IS NOT NULL)
  OR (OLD.`clicked_at` IS NULL AND NEW.`clicked_at` IS NOT NULL) OR (OLD.`converted_at` IS NULL AND NEW.`converted_at` IS NOT NULL)
BEGIN
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  SELECT NEW.`workspace_id`, 'message.delivered', NEW.`id`, NULLIF(MIN(COALESCE(NEW.`delivered_at`, 9e15), COALESCE(NEW.`read_at`, 9e15), COALESCE(NEW.`clicked_at`, 9e15)), 9e15), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  WHERE NULLIF(MIN(COALESCE(NEW.`delivered_at`, 9e15), COALESCE(NEW.`read_at`, 9e15), COALESCE(NEW.`clicked_at`, 9e15)), 9e15) IS NOT NULL AND NULLIF(MIN(COALESCE(OLD.`delivered_at`, 9e15), COALESCE(OLD.`read_at`, 9e15), COALESCE(OLD.`clicked_at`, 9e15)), 9e15) IS NULL;
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  SELECT NEW.`workspace_id`, 'message.read', NEW.`id`, NULLIF(MIN(COALESCE(NEW.`read_at`, 9e15), COALESCE(NEW.`clicked_at`, 9e15)), 9e15), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  WHERE NULLIF(MIN(COALESCE(NEW.`read_at`, 9e15), COALESCE(NEW.`clicked_at`, 9e15)), 9e15) IS NOT NULL AND NULLIF(MIN(COALESCE(OLD.`read_at`, 9e15), COALESCE(OLD.`clicked_at`, 9e15)), 9e15) IS NULL;
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  SELECT NEW.`workspace_id`, 'message.failed', NEW.`id`, NEW.`failed_at`, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  WHERE NEW.`failed_at` IS NOT NULL AND OLD.`failed_at` IS NULL;
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  SELECT NEW.`workspace_id`, 'message.replied', NEW.`id`, NEW.`replied_at`, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  WHERE NEW.`replied_at` IS NOT NULL AND OLD.`replied_at` IS NULL;
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  SELECT NEW.`workspace_id`, 'message.clicked', NEW.`id`, NEW.`clicked_at`, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  WHERE NEW.`clicked_at` IS NOT NULL AND OLD.`clicked_at` IS NULL;
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  SELECT NEW.`workspace_id`, 'message.converted', NEW.`id`, NEW.`converted_at`, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
  WHERE NEW.`converted_at` IS NOT NULL AND OLD.`converted_at` IS NULL;
END;
--> statement-breakpoint
-- A human click and a new conversion: replayed click ids and repeated (event, orderId) are ignored
-- inserts, which fire nothing.
CREATE TRIGGER `outbox_human_click` AFTER INSERT ON `clicks`
WHEN NEW.`kind` = 'click'
BEGIN
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  VALUES (NEW.`workspace_id`, 'link.clicked', NEW.`id`, NEW.`occurred_at`, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
--> statement-breakpoint
CREATE TRIGGER `outbox_new_conversion` AFTER INSERT ON `conversions`
BEGIN
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  VALUES (NEW.`workspace_id`, 'conversion.created', NEW.`id`, NEW.`occurred_at`, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
