-- Retention: contacts grouped into cohorts by the period of their first start event (a message they
-- were sent, or a human click), and the later periods in which they came back (human click, reply,
-- conversion). Everything below is kept by triggers in the same transaction as the raw write, in any
-- order of arrival, so that reports read a few rows and the daily purge of raw events changes nothing.
--
-- Bucket numbers: quarter = floor(ms / 900000); UTC grains 'd' = floor(ms / 86400000),
-- 'w' = Monday weeks, floor((day + 3) / 7) (1970-01-01 was a Thursday), 'm' = months since 1970-01.

-- When each contact first received a message (its messages' earliest report_at) and first clicked.
CREATE TABLE `retention_contacts` (
	`workspace_id` text NOT NULL,
	`contact_hash` text NOT NULL,
	`first_message_at` integer,
	`first_click_at` integer,
	PRIMARY KEY (`workspace_id`, `contact_hash`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `retention_contacts_first_message` ON `retention_contacts` (`workspace_id`, `first_message_at`)
	WHERE `first_message_at` IS NOT NULL;
--> statement-breakpoint
CREATE INDEX `retention_contacts_first_click` ON `retention_contacts` (`workspace_id`, `first_click_at`)
	WHERE `first_click_at` IS NOT NULL;
--> statement-breakpoint
-- The UTC quarter hours in which a contact came back, with how (mask: 1 click, 2 reply, 4 conversion),
-- and the contact's previous such quarter (-1: none). Every time zone cuts its days at quarter hours,
-- so these rows answer exact retention in any zone; prev_quarter lets "contacts active in both of two
-- ranges" be counted as rows: the contact's first quarter in a range is the row whose previous quarter
-- lies before the range.
CREATE TABLE `retention_quarters` (
	`workspace_id` text NOT NULL,
	`contact_hash` text NOT NULL,
	`quarter` integer NOT NULL,
	`mask` integer NOT NULL,
	`prev_quarter` integer NOT NULL,
	PRIMARY KEY (`workspace_id`, `contact_hash`, `quarter`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `retention_quarters_time` ON `retention_quarters` (`workspace_id`, `quarter`, `prev_quarter`);
--> statement-breakpoint
CREATE INDEX `retention_quarters_prev` ON `retention_quarters` (`workspace_id`, `prev_quarter`, `quarter`);
--> statement-breakpoint
-- retention_quarters rows per UTC day, by the UTC day of their previous quarter (-1: none).
CREATE TABLE `retention_return_days` (
	`workspace_id` text NOT NULL,
	`day` integer NOT NULL,
	`prev_day` integer NOT NULL,
	`returns` integer NOT NULL,
	PRIMARY KEY (`workspace_id`, `day`, `prev_day`)
) WITHOUT ROWID;
--> statement-breakpoint
-- retention_quarters rows per UTC day.
CREATE TABLE `retention_active_days` (
	`workspace_id` text NOT NULL,
	`day` integer NOT NULL,
	`returns` integer NOT NULL,
	PRIMARY KEY (`workspace_id`, `day`)
) WITHOUT ROWID;
--> statement-breakpoint
-- Contacts per cohort: UTC period (grain) of the contact's first start event of `start_kind`.
CREATE TABLE `retention_cohorts` (
	`workspace_id` text NOT NULL,
	`grain` text NOT NULL,
	`start_kind` text NOT NULL,
	`cohort` integer NOT NULL,
	`size` integer NOT NULL,
	PRIMARY KEY (`workspace_id`, `grain`, `start_kind`, `cohort`)
) WITHOUT ROWID;
--> statement-breakpoint
-- Contacts of a cohort that came back (`return_kind`) in UTC period cohort + `period`, 1 <= period < 60.
CREATE TABLE `retention_counts` (
	`workspace_id` text NOT NULL,
	`grain` text NOT NULL,
	`start_kind` text NOT NULL,
	`return_kind` text NOT NULL,
	`cohort` integer NOT NULL,
	`period` integer NOT NULL,
	`contacts` integer NOT NULL,
	PRIMARY KEY (`workspace_id`, `grain`, `start_kind`, `return_kind`, `cohort`, `period`)
) WITHOUT ROWID;
--> statement-breakpoint
-- The UTC grains, and the return kinds with the mask bits each one covers: rows to join with.
CREATE TABLE `retention_grains` (`grain` text PRIMARY KEY NOT NULL) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `retention_grains` VALUES ('d'), ('w'), ('m');
--> statement-breakpoint
CREATE TABLE `retention_return_kinds` (`kind` text PRIMARY KEY NOT NULL, `bits` integer NOT NULL) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `retention_return_kinds` VALUES ('click', 1), ('reply', 2), ('conversion', 4), ('any', 7);
--> statement-breakpoint
-- Inserting into these views runs their INSTEAD OF triggers: the one place where a start event or a
-- return event is folded in, whichever raw table it came from. They never hold rows.
--
-- A start event: `at` becomes the contact's first start of `kind` if it is earlier than the one known;
-- with `exact` it replaces it (NULL: the contact has no such start any more).
CREATE VIEW `retention_start_events` AS
	SELECT '' AS `workspace_id`, '' AS `contact_hash`, '' AS `kind`, 0 AS `at`, 0 AS `exact` WHERE 0;
--> statement-breakpoint
-- A return event of the contact at `at`; `bit` is its mask bit.
CREATE VIEW `retention_return_events` AS
	SELECT '' AS `workspace_id`, '' AS `contact_hash`, 0 AS `at`, 0 AS `bit` WHERE 0;
--> statement-breakpoint
-- Moving a contact's first start moves it between cohorts in each grain: the old cohort loses it and
-- the periods it came back in, the new cohort gains them (nothing changes in a grain where the two
-- times fall in the same period).
CREATE TRIGGER `retention_start_moves` INSTEAD OF INSERT ON `retention_start_events`
WHEN NEW.`exact` OR NEW.`at` < COALESCE((
	SELECT CASE NEW.`kind` WHEN 'message' THEN `first_message_at` ELSE `first_click_at` END
	FROM `retention_contacts` WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash`), 9e18)
BEGIN
	INSERT INTO `retention_cohorts` (`workspace_id`, `grain`, `start_kind`, `cohort`, `size`)
	SELECT NEW.`workspace_id`, s.`grain`, NEW.`kind`, CASE d.`delta` WHEN -1 THEN s.`old_cohort` ELSE s.`new_cohort` END, d.`delta`
	FROM (
		SELECT g.`grain`,
			CASE g.`grain` WHEN 'd' THEN m.`old_at` / 86400000 WHEN 'w' THEN (m.`old_at` / 86400000 + 3) / 7
				ELSE (CAST(strftime('%Y', m.`old_at` / 1000, 'unixepoch') AS INTEGER) - 1970) * 12
					+ CAST(strftime('%m', m.`old_at` / 1000, 'unixepoch') AS INTEGER) - 1 END AS `old_cohort`,
			CASE g.`grain` WHEN 'd' THEN m.`new_at` / 86400000 WHEN 'w' THEN (m.`new_at` / 86400000 + 3) / 7
				ELSE (CAST(strftime('%Y', m.`new_at` / 1000, 'unixepoch') AS INTEGER) - 1970) * 12
					+ CAST(strftime('%m', m.`new_at` / 1000, 'unixepoch') AS INTEGER) - 1 END AS `new_cohort`
		FROM `retention_grains` g, (
			SELECT `old_at`, CASE WHEN NEW.`exact` THEN NEW.`at` ELSE MIN(COALESCE(`old_at`, NEW.`at`), NEW.`at`) END AS `new_at`
			FROM (SELECT (
				SELECT CASE NEW.`kind` WHEN 'message' THEN `first_message_at` ELSE `first_click_at` END
				FROM `retention_contacts` WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash`
			) AS `old_at`)
		) m
	) s, (SELECT -1 AS `delta` UNION ALL SELECT 1) d
	WHERE s.`old_cohort` IS NOT s.`new_cohort`
		AND CASE d.`delta` WHEN -1 THEN s.`old_cohort` ELSE s.`new_cohort` END IS NOT NULL
	ON CONFLICT DO UPDATE SET `size` = `size` + excluded.`size`;

	INSERT INTO `retention_counts` (`workspace_id`, `grain`, `start_kind`, `return_kind`, `cohort`, `period`, `contacts`)
	SELECT NEW.`workspace_id`, p.`grain`, NEW.`kind`, k.`kind`, c.`cohort`, p.`bucket` - c.`cohort`, c.`delta`
	FROM (
		SELECT g.`grain`,
			CASE g.`grain` WHEN 'd' THEN q.`quarter` / 96 WHEN 'w' THEN (q.`quarter` / 96 + 3) / 7
				ELSE (CAST(strftime('%Y', q.`quarter` * 900, 'unixepoch') AS INTEGER) - 1970) * 12
					+ CAST(strftime('%m', q.`quarter` * 900, 'unixepoch') AS INTEGER) - 1 END AS `bucket`,
			MAX(q.`mask` & 1) | MAX(q.`mask` & 2) | MAX(q.`mask` & 4) AS `mask`
		FROM `retention_quarters` q, `retention_grains` g
		WHERE q.`workspace_id` = NEW.`workspace_id` AND q.`contact_hash` = NEW.`contact_hash`
		GROUP BY g.`grain`, `bucket`
	) p
	JOIN (
		SELECT s.`grain`, CASE d.`delta` WHEN -1 THEN s.`old_cohort` ELSE s.`new_cohort` END AS `cohort`, d.`delta`
		FROM (
			SELECT g.`grain`,
				CASE g.`grain` WHEN 'd' THEN m.`old_at` / 86400000 WHEN 'w' THEN (m.`old_at` / 86400000 + 3) / 7
					ELSE (CAST(strftime('%Y', m.`old_at` / 1000, 'unixepoch') AS INTEGER) - 1970) * 12
						+ CAST(strftime('%m', m.`old_at` / 1000, 'unixepoch') AS INTEGER) - 1 END AS `old_cohort`,
				CASE g.`grain` WHEN 'd' THEN m.`new_at` / 86400000 WHEN 'w' THEN (m.`new_at` / 86400000 + 3) / 7
					ELSE (CAST(strftime('%Y', m.`new_at` / 1000, 'unixepoch') AS INTEGER) - 1970) * 12
						+ CAST(strftime('%m', m.`new_at` / 1000, 'unixepoch') AS INTEGER) - 1 END AS `new_cohort`
			FROM `retention_grains` g, (
				SELECT `old_at`, CASE WHEN NEW.`exact` THEN NEW.`at` ELSE MIN(COALESCE(`old_at`, NEW.`at`), NEW.`at`) END AS `new_at`
				FROM (SELECT (
					SELECT CASE NEW.`kind` WHEN 'message' THEN `first_message_at` ELSE `first_click_at` END
					FROM `retention_contacts` WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash`
				) AS `old_at`)
			) m
		) s, (SELECT -1 AS `delta` UNION ALL SELECT 1) d
		WHERE s.`old_cohort` IS NOT s.`new_cohort`
	) c ON c.`grain` = p.`grain`
	JOIN `retention_return_kinds` k ON (k.`bits` & p.`mask`) != 0
	WHERE p.`bucket` - c.`cohort` BETWEEN 1 AND 59
	ON CONFLICT DO UPDATE SET `contacts` = `contacts` + excluded.`contacts`;

	INSERT INTO `retention_contacts` (`workspace_id`, `contact_hash`, `first_message_at`, `first_click_at`)
	SELECT NEW.`workspace_id`, NEW.`contact_hash`,
		CASE NEW.`kind` WHEN 'message' THEN `new_at` END, CASE NEW.`kind` WHEN 'click' THEN `new_at` END
	FROM (
		SELECT CASE WHEN NEW.`exact` THEN NEW.`at` ELSE MIN(COALESCE(`old_at`, NEW.`at`), NEW.`at`) END AS `new_at`
		FROM (SELECT (
			SELECT CASE NEW.`kind` WHEN 'message' THEN `first_message_at` ELSE `first_click_at` END
			FROM `retention_contacts` WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash`
		) AS `old_at`)
	)
	WHERE true
	ON CONFLICT DO UPDATE SET
		`first_message_at` = CASE NEW.`kind` WHEN 'message' THEN excluded.`first_message_at` ELSE `first_message_at` END,
		`first_click_at` = CASE NEW.`kind` WHEN 'click' THEN excluded.`first_click_at` ELSE `first_click_at` END;
END;
--> statement-breakpoint
-- A return event counts for every cohort grain in which its period gains a kind of return for this
-- contact; a quarter hour new to the contact is linked between its previous and next quarters.
-- A second event of a kind already seen in the same quarter hour changes nothing.
CREATE TRIGGER `retention_return_arrives` INSTEAD OF INSERT ON `retention_return_events`
WHEN NOT EXISTS (
	SELECT 1 FROM `retention_quarters`
	WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash` AND `quarter` = NEW.`at` / 900000
		AND `mask` & NEW.`bit` != 0)
BEGIN
	INSERT INTO `retention_counts` (`workspace_id`, `grain`, `start_kind`, `return_kind`, `cohort`, `period`, `contacts`)
	SELECT NEW.`workspace_id`, p.`grain`, s.`kind`, k.`kind`, s.`cohort`, p.`bucket` - s.`cohort`, 1
	FROM (
		-- Grouped, so that each grain's mask is read once, not once per row joined to it.
		SELECT g.`grain`, g.`bucket`, MAX(q.`mask` & 1) | MAX(q.`mask` & 2) | MAX(q.`mask` & 4) AS `mask`
		FROM (
			SELECT `grain`, `bucket`, `first_quarter`, CASE `grain` WHEN 'd' THEN `first_quarter` + 96
				WHEN 'w' THEN `first_quarter` + 672
				ELSE CAST(strftime('%s', NEW.`at` / 1000, 'unixepoch', 'start of month', '+1 month') AS INTEGER) / 900 END AS `end_quarter`
			FROM (
				SELECT `grain`,
					CASE `grain` WHEN 'd' THEN NEW.`at` / 86400000 WHEN 'w' THEN (NEW.`at` / 86400000 + 3) / 7
						ELSE (CAST(strftime('%Y', NEW.`at` / 1000, 'unixepoch') AS INTEGER) - 1970) * 12
							+ CAST(strftime('%m', NEW.`at` / 1000, 'unixepoch') AS INTEGER) - 1 END AS `bucket`,
					CASE `grain` WHEN 'd' THEN NEW.`at` / 86400000 * 96 WHEN 'w' THEN ((NEW.`at` / 86400000 + 3) / 7 * 7 - 3) * 96
						ELSE CAST(strftime('%s', NEW.`at` / 1000, 'unixepoch', 'start of month') AS INTEGER) / 900 END AS `first_quarter`
				FROM `retention_grains`
			)
		) g
		LEFT JOIN `retention_quarters` q ON q.`workspace_id` = NEW.`workspace_id` AND q.`contact_hash` = NEW.`contact_hash`
			AND q.`quarter` >= g.`first_quarter` AND q.`quarter` < g.`end_quarter`
		GROUP BY g.`grain`
	) p
	JOIN (
		SELECT g.`grain`, f.`kind`,
			CASE g.`grain` WHEN 'd' THEN f.`at` / 86400000 WHEN 'w' THEN (f.`at` / 86400000 + 3) / 7
				ELSE (CAST(strftime('%Y', f.`at` / 1000, 'unixepoch') AS INTEGER) - 1970) * 12
					+ CAST(strftime('%m', f.`at` / 1000, 'unixepoch') AS INTEGER) - 1 END AS `cohort`
		FROM `retention_grains` g, (
			SELECT 'message' AS `kind`, `first_message_at` AS `at` FROM `retention_contacts`
			WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash`
			UNION ALL
			SELECT 'click', `first_click_at` FROM `retention_contacts`
			WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash`
		) f
		WHERE f.`at` IS NOT NULL
	) s ON s.`grain` = p.`grain`
	JOIN `retention_return_kinds` k ON (k.`bits` & NEW.`bit`) != 0 AND (k.`bits` & COALESCE(p.`mask`, 0)) = 0
	WHERE p.`bucket` - s.`cohort` BETWEEN 1 AND 59
	ON CONFLICT DO UPDATE SET `contacts` = `contacts` + 1;

	-- A new quarter q between the contact's quarters prev and next: rows (q after prev) and
	-- (next after q) replace (next after prev).
	INSERT INTO `retention_return_days` (`workspace_id`, `day`, `prev_day`, `returns`)
	SELECT NEW.`workspace_id`,
		CASE r.`part` WHEN 1 THEN n.`quarter` / 96 ELSE n.`next` / 96 END,
		CASE WHEN r.`part` = 3 THEN n.`quarter` / 96 WHEN n.`prev` IS NULL THEN -1 ELSE n.`prev` / 96 END,
		CASE r.`part` WHEN 2 THEN -1 ELSE 1 END
	FROM (
		SELECT NEW.`at` / 900000 AS `quarter`,
			(SELECT MAX(`quarter`) FROM `retention_quarters` WHERE `workspace_id` = NEW.`workspace_id`
				AND `contact_hash` = NEW.`contact_hash` AND `quarter` < NEW.`at` / 900000) AS `prev`,
			(SELECT MIN(`quarter`) FROM `retention_quarters` WHERE `workspace_id` = NEW.`workspace_id`
				AND `contact_hash` = NEW.`contact_hash` AND `quarter` > NEW.`at` / 900000) AS `next`
	) n, (SELECT 1 AS `part` UNION ALL SELECT 2 UNION ALL SELECT 3) r
	WHERE (r.`part` = 1 OR n.`next` IS NOT NULL)
		AND NOT EXISTS (SELECT 1 FROM `retention_quarters` WHERE `workspace_id` = NEW.`workspace_id`
			AND `contact_hash` = NEW.`contact_hash` AND `quarter` = NEW.`at` / 900000)
	ON CONFLICT DO UPDATE SET `returns` = `returns` + excluded.`returns`;

	INSERT INTO `retention_active_days` (`workspace_id`, `day`, `returns`)
	SELECT NEW.`workspace_id`, NEW.`at` / 86400000, 1
	WHERE NOT EXISTS (SELECT 1 FROM `retention_quarters` WHERE `workspace_id` = NEW.`workspace_id`
		AND `contact_hash` = NEW.`contact_hash` AND `quarter` = NEW.`at` / 900000)
	ON CONFLICT DO UPDATE SET `returns` = `returns` + 1;

	UPDATE `retention_quarters` SET `prev_quarter` = NEW.`at` / 900000
	WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash`
		AND `quarter` = (SELECT MIN(`quarter`) FROM `retention_quarters` WHERE `workspace_id` = NEW.`workspace_id`
			AND `contact_hash` = NEW.`contact_hash` AND `quarter` > NEW.`at` / 900000)
		AND NOT EXISTS (SELECT 1 FROM `retention_quarters` WHERE `workspace_id` = NEW.`workspace_id`
			AND `contact_hash` = NEW.`contact_hash` AND `quarter` = NEW.`at` / 900000);

	INSERT INTO `retention_quarters` (`workspace_id`, `contact_hash`, `quarter`, `mask`, `prev_quarter`)
	VALUES (NEW.`workspace_id`, NEW.`contact_hash`, NEW.`at` / 900000, NEW.`bit`,
		COALESCE((SELECT MAX(`quarter`) FROM `retention_quarters` WHERE `workspace_id` = NEW.`workspace_id`
			AND `contact_hash` = NEW.`contact_hash` AND `quarter` < NEW.`at` / 900000), -1))
	ON CONFLICT DO UPDATE SET `mask` = `mask` | excluded.`mask`;
END;
--> statement-breakpoint
CREATE TRIGGER `retention_message_inserted` AFTER INSERT ON `messages`
WHEN NEW.`contact_hash` IS NOT NULL AND NEW.`report_at` IS NOT NULL
BEGIN
	INSERT INTO `retention_start_events` VALUES (NEW.`workspace_id`, NEW.`contact_hash`, 'message', NEW.`report_at`, 0);
END;
--> statement-breakpoint
-- Most status updates leave report_at as it was, and then this does nothing.
CREATE TRIGGER `retention_message_updated`
AFTER UPDATE OF `contact_hash`, `sent_at`, `delivered_at`, `read_at`, `failed_at`, `clicked_at` ON `messages`
WHEN NEW.`contact_hash` IS NOT NULL AND NEW.`report_at` IS NOT NULL
	AND (NEW.`report_at` IS NOT OLD.`report_at` OR NEW.`contact_hash` IS NOT OLD.`contact_hash`)
BEGIN
	INSERT INTO `retention_start_events` VALUES (NEW.`workspace_id`, NEW.`contact_hash`, 'message', NEW.`report_at`, 0);
END;
--> statement-breakpoint
-- A registration can name another contact than the statuses that came before it did: when the
-- message was the old contact's first, that contact's first message is looked up again among the
-- messages still stored.
CREATE TRIGGER `retention_message_recontacted` AFTER UPDATE OF `contact_hash` ON `messages`
WHEN OLD.`contact_hash` IS NOT NULL AND OLD.`contact_hash` IS NOT NEW.`contact_hash`
	AND OLD.`report_at` <= (SELECT `first_message_at` FROM `retention_contacts`
		WHERE `workspace_id` = OLD.`workspace_id` AND `contact_hash` = OLD.`contact_hash`)
BEGIN
	INSERT INTO `retention_start_events`
	SELECT OLD.`workspace_id`, OLD.`contact_hash`, 'message', MIN(`report_at`), 1 FROM `messages`
	WHERE `workspace_id` = OLD.`workspace_id` AND `contact_hash` = OLD.`contact_hash`;
END;
--> statement-breakpoint
CREATE TRIGGER `retention_click` AFTER INSERT ON `clicks`
WHEN NEW.`kind` = 'click' AND NEW.`contact_hash` IS NOT NULL
BEGIN
	INSERT INTO `retention_start_events` VALUES (NEW.`workspace_id`, NEW.`contact_hash`, 'click', NEW.`occurred_at`, 0);
	INSERT INTO `retention_return_events` VALUES (NEW.`workspace_id`, NEW.`contact_hash`, NEW.`occurred_at`, 1);
END;
--> statement-breakpoint
CREATE TRIGGER `retention_reply` AFTER INSERT ON `inbound_messages`
WHEN NEW.`contact_hash` IS NOT NULL
BEGIN
	INSERT INTO `retention_return_events` VALUES (NEW.`workspace_id`, NEW.`contact_hash`, NEW.`occurred_at`, 2);
END;
--> statement-breakpoint
CREATE TRIGGER `retention_conversion` AFTER INSERT ON `conversions`
WHEN NEW.`contact_hash` IS NOT NULL
BEGIN
	INSERT INTO `retention_return_events` VALUES (NEW.`workspace_id`, NEW.`contact_hash`, NEW.`occurred_at`, 4);
END;
