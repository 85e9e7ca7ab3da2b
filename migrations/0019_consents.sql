CREATE TABLE `consents` (
	`seq` integer PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`contact_hash` text NOT NULL,
	`opted_in` integer NOT NULL,
	`source` text NOT NULL,
	`occurred_at` integer NOT NULL,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `consents_record` ON `consents` (`workspace_id`,`contact_hash`,`occurred_at`,`opted_in`,`source`);--> statement-breakpoint
CREATE INDEX `consents_opt_outs` ON `consents` (`workspace_id`,`occurred_at`,`contact_hash`) WHERE opted_in = 0;--> statement-breakpoint
CREATE TABLE `marketing_day_pairs` (
	`workspace_id` text NOT NULL,
	`day` integer NOT NULL,
	`prev_day` integer NOT NULL,
	`quarters` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `day`, `prev_day`)
);
--> statement-breakpoint
CREATE TABLE `marketing_days` (
	`workspace_id` text NOT NULL,
	`day` integer NOT NULL,
	`quarters` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `day`)
);
--> statement-breakpoint
CREATE TABLE `marketing_quarters` (
	`workspace_id` text NOT NULL,
	`contact_hash` text NOT NULL,
	`quarter` integer NOT NULL,
	`messages` integer NOT NULL,
	`prev_quarter` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `contact_hash`, `quarter`)
);
--> statement-breakpoint
CREATE INDEX `marketing_quarters_time` ON `marketing_quarters` (`workspace_id`,`quarter`,`prev_quarter`);--> statement-breakpoint
CREATE INDEX `marketing_quarters_prev` ON `marketing_quarters` (`workspace_id`,`prev_quarter`,`quarter`);--> statement-breakpoint
-- Written by hand below this line (drizzle-kit generates none of it): the view through which the rollup
-- consumer adds and removes marketing messages (src/db/pipeline.ts), its triggers, and the rows for the
-- messages applied before this migration. Quarters are floor(ms / 900000), days quarter / 96.
--
-- Inserting (workspace_id, contact_hash, quarter, delta) runs a trigger: delta 1 adds a marketing message
-- of the contact in that quarter, -1 takes one back. The view never holds rows.
CREATE VIEW `marketing_send_events` AS
	SELECT '' AS `workspace_id`, '' AS `contact_hash`, 0 AS `quarter`, 0 AS `delta` WHERE 0;
--> statement-breakpoint
-- A quarter new to the contact, q between its quarters prev and next: the rows (q after prev) and
-- (next after q) take the place of (next after prev), in marketing_quarters and in the per-day counts.
CREATE TRIGGER `marketing_send_added` INSTEAD OF INSERT ON `marketing_send_events` WHEN NEW.`delta` = 1
BEGIN
	INSERT INTO `marketing_day_pairs` (`workspace_id`, `day`, `prev_day`, `quarters`)
	SELECT NEW.`workspace_id`,
		CASE r.`part` WHEN 1 THEN NEW.`quarter` / 96 ELSE n.`next` / 96 END,
		CASE WHEN r.`part` = 3 THEN NEW.`quarter` / 96 WHEN n.`prev` IS NULL THEN -1 ELSE n.`prev` / 96 END,
		CASE r.`part` WHEN 2 THEN -1 ELSE 1 END
	FROM (
		SELECT
			(SELECT MAX(`quarter`) FROM `marketing_quarters` WHERE `workspace_id` = NEW.`workspace_id`
				AND `contact_hash` = NEW.`contact_hash` AND `quarter` < NEW.`quarter`) AS `prev`,
			(SELECT MIN(`quarter`) FROM `marketing_quarters` WHERE `workspace_id` = NEW.`workspace_id`
				AND `contact_hash` = NEW.`contact_hash` AND `quarter` > NEW.`quarter`) AS `next`
	) n, (SELECT 1 AS `part` UNION ALL SELECT 2 UNION ALL SELECT 3) r
	WHERE (r.`part` = 1 OR n.`next` IS NOT NULL)
		AND NOT EXISTS (SELECT 1 FROM `marketing_quarters` WHERE `workspace_id` = NEW.`workspace_id`
			AND `contact_hash` = NEW.`contact_hash` AND `quarter` = NEW.`quarter`)
	ON CONFLICT DO UPDATE SET `quarters` = `quarters` + excluded.`quarters`;

	INSERT INTO `marketing_days` (`workspace_id`, `day`, `quarters`)
	SELECT NEW.`workspace_id`, NEW.`quarter` / 96, 1
	WHERE NOT EXISTS (SELECT 1 FROM `marketing_quarters` WHERE `workspace_id` = NEW.`workspace_id`
		AND `contact_hash` = NEW.`contact_hash` AND `quarter` = NEW.`quarter`)
	ON CONFLICT DO UPDATE SET `quarters` = `quarters` + 1;

	UPDATE `marketing_quarters` SET `prev_quarter` = NEW.`quarter`
	WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash`
		AND `quarter` = (SELECT MIN(`quarter`) FROM `marketing_quarters` WHERE `workspace_id` = NEW.`workspace_id`
			AND `contact_hash` = NEW.`contact_hash` AND `quarter` > NEW.`quarter`)
		AND NOT EXISTS (SELECT 1 FROM `marketing_quarters` WHERE `workspace_id` = NEW.`workspace_id`
			AND `contact_hash` = NEW.`contact_hash` AND `quarter` = NEW.`quarter`);

	INSERT INTO `marketing_quarters` (`workspace_id`, `contact_hash`, `quarter`, `messages`, `prev_quarter`)
	SELECT NEW.`workspace_id`, NEW.`contact_hash`, NEW.`quarter`, 1,
		COALESCE((SELECT MAX(`quarter`) FROM `marketing_quarters` WHERE `workspace_id` = NEW.`workspace_id`
			AND `contact_hash` = NEW.`contact_hash` AND `quarter` < NEW.`quarter`), -1)
	WHERE true
	ON CONFLICT DO UPDATE SET `messages` = `messages` + 1;
END;
--> statement-breakpoint
-- The contact's last marketing message in quarter q is taken back: q leaves the chain, and (next after
-- prev) takes the place of (q after prev) and (next after q). Anything else only lowers the count.
CREATE TRIGGER `marketing_send_removed` INSTEAD OF INSERT ON `marketing_send_events` WHEN NEW.`delta` = -1
BEGIN
	INSERT INTO `marketing_day_pairs` (`workspace_id`, `day`, `prev_day`, `quarters`)
	SELECT NEW.`workspace_id`,
		CASE r.`part` WHEN 1 THEN q.`quarter` / 96 ELSE n.`next` / 96 END,
		CASE WHEN r.`part` = 3 THEN q.`quarter` / 96 WHEN q.`prev_quarter` < 0 THEN -1 ELSE q.`prev_quarter` / 96 END,
		CASE r.`part` WHEN 2 THEN 1 ELSE -1 END
	FROM `marketing_quarters` q, (
		SELECT (SELECT MIN(`quarter`) FROM `marketing_quarters` WHERE `workspace_id` = NEW.`workspace_id`
			AND `contact_hash` = NEW.`contact_hash` AND `quarter` > NEW.`quarter`) AS `next`
	) n, (SELECT 1 AS `part` UNION ALL SELECT 2 UNION ALL SELECT 3) r
	WHERE q.`workspace_id` = NEW.`workspace_id` AND q.`contact_hash` = NEW.`contact_hash`
		AND q.`quarter` = NEW.`quarter` AND q.`messages` = 1 AND (r.`part` = 1 OR n.`next` IS NOT NULL)
	ON CONFLICT DO UPDATE SET `quarters` = `quarters` + excluded.`quarters`;

	UPDATE `marketing_days` SET `quarters` = `quarters` - 1
	WHERE `workspace_id` = NEW.`workspace_id` AND `day` = NEW.`quarter` / 96
		AND EXISTS (SELECT 1 FROM `marketing_quarters` WHERE `workspace_id` = NEW.`workspace_id`
			AND `contact_hash` = NEW.`contact_hash` AND `quarter` = NEW.`quarter` AND `messages` = 1);

	UPDATE `marketing_quarters` SET `prev_quarter` = (
		SELECT `prev_quarter` FROM `marketing_quarters` WHERE `workspace_id` = NEW.`workspace_id`
			AND `contact_hash` = NEW.`contact_hash` AND `quarter` = NEW.`quarter`)
	WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash`
		AND `quarter` = (SELECT MIN(`quarter`) FROM `marketing_quarters` WHERE `workspace_id` = NEW.`workspace_id`
			AND `contact_hash` = NEW.`contact_hash` AND `quarter` > NEW.`quarter`)
		AND EXISTS (SELECT 1 FROM `marketing_quarters` WHERE `workspace_id` = NEW.`workspace_id`
			AND `contact_hash` = NEW.`contact_hash` AND `quarter` = NEW.`quarter` AND `messages` = 1);

	DELETE FROM `marketing_quarters` WHERE `workspace_id` = NEW.`workspace_id`
		AND `contact_hash` = NEW.`contact_hash` AND `quarter` = NEW.`quarter` AND `messages` = 1;

	UPDATE `marketing_quarters` SET `messages` = `messages` - 1 WHERE `workspace_id` = NEW.`workspace_id`
		AND `contact_hash` = NEW.`contact_hash` AND `quarter` = NEW.`quarter` AND `messages` > 1;
END;
--> statement-breakpoint
-- The marketing messages the rollup consumer applied before this migration.
INSERT INTO `marketing_send_events` (`workspace_id`, `contact_hash`, `quarter`, `delta`)
SELECT `workspace_id`, `contact_hash`, CAST(`report_at` / 900000 AS INTEGER), 1 FROM `message_rollup_applied`
WHERE `contact_hash` IS NOT NULL AND `report_at` IS NOT NULL AND lower(`category`) IN ('marketing', 'marketing_lite');
