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
-- Group messages were marked by recipient_type; is_group takes over (it stays set once seen, and the
-- rollups hear of it), so the audience stage is computed from it: the generated columns and their index
-- are made again (SQLite cannot change a generated column in place).
UPDATE `messages` SET `is_group` = 1 WHERE `recipient_type` = 'group';--> statement-breakpoint
DROP INDEX `messages_audience`;--> statement-breakpoint
ALTER TABLE `messages` DROP COLUMN `audience_at`;--> statement-breakpoint
ALTER TABLE `messages` DROP COLUMN `audience_stage`;--> statement-breakpoint
ALTER TABLE `messages` ADD `audience_stage` integer GENERATED ALWAYS AS (CASE WHEN is_group = 1 THEN NULL WHEN converted_at IS NOT NULL THEN 4 WHEN clicked_at IS NOT NULL THEN 3 WHEN read_at IS NOT NULL THEN 2 WHEN delivered_at IS NOT NULL THEN 1 WHEN failed_at IS NOT NULL AND CASE WHEN json_valid(errors) THEN json_extract(errors, '$[0].code') END IN (131049, '131049') THEN 5 END) VIRTUAL;--> statement-breakpoint
ALTER TABLE `messages` ADD `audience_at` integer GENERATED ALWAYS AS (CASE audience_stage WHEN 4 THEN converted_at WHEN 3 THEN clicked_at WHEN 2 THEN read_at WHEN 1 THEN delivered_at WHEN 5 THEN failed_at END) VIRTUAL;--> statement-breakpoint
CREATE INDEX `messages_audience` ON `messages` (`workspace_id`,`campaign_id`,`audience_stage`,`audience_at`) WHERE "messages"."audience_stage" IS NOT NULL AND "messages"."campaign_id" IS NOT NULL;--> statement-breakpoint
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
