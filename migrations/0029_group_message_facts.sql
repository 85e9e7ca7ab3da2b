-- Written by hand: whether a message went to a WhatsApp group becomes a message fact of the rollups
-- (src/rollups/declarations.ts), filled from the messages as they are now; the migration after this
-- one rebuilds the message rollups from the facts, leaving group messages out of the per-recipient ones.
ALTER TABLE `message_rollup_applied` ADD `is_group` integer;
--> statement-breakpoint
UPDATE `message_rollup_applied` SET `is_group` = COALESCE((
	SELECT m.`is_group` FROM `messages` m
	WHERE m.`workspace_id` = `message_rollup_applied`.`workspace_id` AND m.`id` = `message_rollup_applied`.`message_id`), 0);
