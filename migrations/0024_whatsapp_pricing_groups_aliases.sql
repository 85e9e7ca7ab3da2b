CREATE TABLE `contact_aliases` (
	`workspace_id` text NOT NULL,
	`alias_hash` text NOT NULL,
	`contact_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `alias_hash`)
);
--> statement-breakpoint
CREATE INDEX `contact_aliases_contact` ON `contact_aliases` (`workspace_id`,`contact_hash`);--> statement-breakpoint
ALTER TABLE `messages` ADD `pricing_at` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `is_group` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- A message found to be a group message is a change the rollups must see (they leave groups out of
-- the per-recipient funnel), even when that status changes nothing else.
DROP TRIGGER `outbox_message_changed`;--> statement-breakpoint
CREATE TRIGGER `outbox_message_changed` AFTER UPDATE OF `contact_hash`, `link_code`, `campaign_id`, `variant`,
  `country`, `category`, `pricing`, `sent_at`, `delivered_at`, `read_at`, `failed_at`, `is_group` ON `messages`
WHEN OLD.`contact_hash` IS NOT NEW.`contact_hash` OR OLD.`link_code` IS NOT NEW.`link_code`
  OR OLD.`campaign_id` IS NOT NEW.`campaign_id` OR OLD.`variant` IS NOT NEW.`variant`
  OR OLD.`country` IS NOT NEW.`country` OR OLD.`category` IS NOT NEW.`category` OR OLD.`pricing` IS NOT NEW.`pricing`
  OR OLD.`sent_at` IS NOT NEW.`sent_at` OR OLD.`delivered_at` IS NOT NEW.`delivered_at`
  OR OLD.`read_at` IS NOT NEW.`read_at` OR OLD.`failed_at` IS NOT NEW.`failed_at`
  OR OLD.`is_group` IS NOT NEW.`is_group`
BEGIN
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  VALUES (NEW.`workspace_id`, 'message.changed', NEW.`id`, COALESCE(NEW.`report_at`, NEW.`created_at`),
    CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
