ALTER TABLE `messages` ADD `revenue_currency` text;--> statement-breakpoint
-- Written by hand below this line: the currency of each message's revenue, for the messages converted
-- before this migration (src/db/pipeline.ts keeps it from now on), and the message facts the rollups
-- gain (src/rollups/declarations.ts): the failure's error code, whether Meta charged the message
-- (pricing `type` `regular`, in place of the deprecated `billable`), its pricing category and the
-- revenue's currency. They are filled from the messages as they are now; the migration after this one
-- rebuilds the message rollups from these facts.
UPDATE `messages` SET `revenue_currency` = (
	SELECT IIF(COUNT(DISTINCT `currency`) = 1, MIN(`currency`), NULL) FROM (
		SELECT `id`, `currency` FROM `conversions`
		WHERE `workspace_id` = `messages`.`workspace_id` AND `message_id` = `messages`.`id`
		UNION
		SELECT v.`id`, v.`currency` FROM `links` l JOIN `conversions` v ON v.`link_id` = l.`id`
		WHERE l.`code` = `messages`.`link_code` AND l.`workspace_id` = `messages`.`workspace_id`
			AND l.`contact_hash` = `messages`.`contact_hash`))
WHERE `converted_at` IS NOT NULL;
--> statement-breakpoint
ALTER TABLE `message_rollup_applied` DROP COLUMN `billable`;
--> statement-breakpoint
ALTER TABLE `message_rollup_applied` ADD `error_code` integer;
--> statement-breakpoint
ALTER TABLE `message_rollup_applied` ADD `charged` integer;
--> statement-breakpoint
ALTER TABLE `message_rollup_applied` ADD `pricing_category` text;
--> statement-breakpoint
ALTER TABLE `message_rollup_applied` ADD `revenue_currency` text;
--> statement-breakpoint
UPDATE `message_rollup_applied` SET (`error_code`, `charged`, `pricing_category`, `revenue_currency`) = (
	SELECT CASE WHEN json_valid(m.`errors`) THEN CAST(json_extract(m.`errors`, '$[0].code') AS INTEGER) END,
		COALESCE(json_extract(m.`pricing`, '$.type') = 'regular', 0),
		COALESCE(json_extract(m.`pricing`, '$.category'), m.`category`, ''),
		m.`revenue_currency`
	FROM `messages` m
	WHERE m.`workspace_id` = `message_rollup_applied`.`workspace_id` AND m.`id` = `message_rollup_applied`.`message_id`);
--> statement-breakpoint
-- A message's error code is a rollup fact now: a change of `errors` alone must reach the rollups too, as
-- must a message found to be a group message (migration 0025).
DROP TRIGGER `outbox_message_changed`;
--> statement-breakpoint
CREATE TRIGGER `outbox_message_changed` AFTER UPDATE OF `contact_hash`, `link_code`, `campaign_id`, `variant`,
  `country`, `category`, `pricing`, `errors`, `sent_at`, `delivered_at`, `read_at`, `failed_at`, `is_group` ON `messages`
WHEN OLD.`contact_hash` IS NOT NEW.`contact_hash` OR OLD.`link_code` IS NOT NEW.`link_code`
  OR OLD.`campaign_id` IS NOT NEW.`campaign_id` OR OLD.`variant` IS NOT NEW.`variant`
  OR OLD.`country` IS NOT NEW.`country` OR OLD.`category` IS NOT NEW.`category` OR OLD.`pricing` IS NOT NEW.`pricing`
  OR OLD.`errors` IS NOT NEW.`errors`
  OR OLD.`sent_at` IS NOT NEW.`sent_at` OR OLD.`delivered_at` IS NOT NEW.`delivered_at`
  OR OLD.`read_at` IS NOT NEW.`read_at` OR OLD.`failed_at` IS NOT NEW.`failed_at`
  OR OLD.`is_group` IS NOT NEW.`is_group`
BEGIN
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  VALUES (NEW.`workspace_id`, 'message.changed', NEW.`id`, COALESCE(NEW.`report_at`, NEW.`created_at`),
    CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
--> statement-breakpoint
-- A snapshot without its message (none should be left; purge and erasure delete both) still adds up.
UPDATE `message_rollup_applied` SET `charged` = 0, `pricing_category` = '' WHERE `charged` IS NULL;
