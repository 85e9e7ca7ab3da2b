-- Retention of one campaign, or of one variant of a campaign (SPEC §9, with `campaignId` / `variant`):
-- cohorts of the contacts by their first message or human click *of that campaign or variant*; their
-- returns are any later click, reply or conversion of theirs, in any campaign. Each such scope keeps
-- its own cohort sizes and return counts in retention_cohorts / retention_counts, under a rollup id of
-- its own, so that a report of a campaign reads a few rows whatever its size. The contacts' returns are
-- the workspace's (retention_quarters, migrations/0008): a scope only adds where each contact started.
-- Reports of several campaigns at once combine the scopes' first starts at query time.

-- One row per campaign and per variant of a campaign (variant '') that has had a message or a click.
CREATE TABLE `retention_scopes` (
	`workspace_id` text NOT NULL,
	`campaign_id` text NOT NULL,
	`variant` text NOT NULL,
	`rollup_id` text NOT NULL,
	PRIMARY KEY (`workspace_id`, `campaign_id`, `variant`)
) WITHOUT ROWID;
--> statement-breakpoint
-- Each contact's first message and first human click within each scope it belongs to.
CREATE TABLE `retention_scope_contacts` (
	`workspace_id` text NOT NULL,
	`contact_hash` text NOT NULL,
	`rollup_id` text NOT NULL,
	`first_message_at` integer,
	`first_click_at` integer,
	PRIMARY KEY (`workspace_id`, `contact_hash`, `rollup_id`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `retention_scope_contacts_first_message` ON `retention_scope_contacts` (`rollup_id`, `first_message_at`)
	WHERE `first_message_at` IS NOT NULL;
--> statement-breakpoint
CREATE INDEX `retention_scope_contacts_first_click` ON `retention_scope_contacts` (`rollup_id`, `first_click_at`)
	WHERE `first_click_at` IS NOT NULL;
--> statement-breakpoint
-- A start event of a contact within a scope, as retention_start_events is for the workspace.
CREATE VIEW `retention_scope_start_events` AS
	SELECT '' AS `workspace_id`, '' AS `rollup_id`, '' AS `contact_hash`, '' AS `kind`, 0 AS `at`, 0 AS `exact` WHERE 0;
--> statement-breakpoint
-- A return event of the contact, to count in every scope it belongs to. It must arrive before the
-- workspace's own (retention_returns_fan_out below sends it first): both ask whether the contact's
-- period already held a return of its kind, and the workspace's records that it now does.
CREATE VIEW `retention_scope_return_events` AS
	SELECT '' AS `workspace_id`, '' AS `contact_hash`, 0 AS `at`, 0 AS `bit` WHERE 0;
--> statement-breakpoint
-- As retention_start_moves: the scope's old cohort loses the contact and the periods it came back
-- in, the new one gains them; the periods come from the contact's returns in the workspace.
CREATE TRIGGER `retention_scope_start_moves` INSTEAD OF INSERT ON `retention_scope_start_events`
WHEN NEW.`exact` OR NEW.`at` < COALESCE((
	SELECT CASE NEW.`kind` WHEN 'message' THEN `first_message_at` ELSE `first_click_at` END
	FROM `retention_scope_contacts`
	WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash` AND `rollup_id` = NEW.`rollup_id`), 9e18)
BEGIN
	INSERT INTO `retention_cohorts` (`workspace_id`, `grain`, `start_kind`, `cohort`, `size`)
	SELECT NEW.`rollup_id`, s.`grain`, NEW.`kind`, CASE d.`delta` WHEN -1 THEN s.`old_cohort` ELSE s.`new_cohort` END, d.`delta`
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
			FROM (SELECT (SELECT CASE NEW.`kind` WHEN 'message' THEN `first_message_at` ELSE `first_click_at` END 	FROM `retention_scope_contacts` 	WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash` AND `rollup_id` = NEW.`rollup_id`) AS `old_at`)
		) m
	) s, (SELECT -1 AS `delta` UNION ALL SELECT 1) d
	WHERE s.`old_cohort` IS NOT s.`new_cohort`
		AND CASE d.`delta` WHEN -1 THEN s.`old_cohort` ELSE s.`new_cohort` END IS NOT NULL
	ON CONFLICT DO UPDATE SET `size` = `size` + excluded.`size`;

	INSERT INTO `retention_counts` (`workspace_id`, `grain`, `start_kind`, `return_kind`, `cohort`, `period`, `contacts`)
	SELECT NEW.`rollup_id`, p.`grain`, NEW.`kind`, k.`kind`, c.`cohort`, p.`bucket` - c.`cohort`, c.`delta`
	FROM (
		SELECT g.`grain`,
			CASE g.`grain` WHEN 'd' THEN q.`quarter` * 900000 / 86400000 WHEN 'w' THEN (q.`quarter` * 900000 / 86400000 + 3) / 7
				ELSE (CAST(strftime('%Y', q.`quarter` * 900000 / 1000, 'unixepoch') AS INTEGER) - 1970) * 12
					+ CAST(strftime('%m', q.`quarter` * 900000 / 1000, 'unixepoch') AS INTEGER) - 1 END AS `bucket`,
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
			FROM (SELECT (SELECT CASE NEW.`kind` WHEN 'message' THEN `first_message_at` ELSE `first_click_at` END 	FROM `retention_scope_contacts` 	WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash` AND `rollup_id` = NEW.`rollup_id`) AS `old_at`)
		) m
		) s, (SELECT -1 AS `delta` UNION ALL SELECT 1) d
		WHERE s.`old_cohort` IS NOT s.`new_cohort`
	) c ON c.`grain` = p.`grain`
	JOIN `retention_return_kinds` k ON (k.`bits` & p.`mask`) != 0
	WHERE p.`bucket` - c.`cohort` BETWEEN 1 AND 59
	ON CONFLICT DO UPDATE SET `contacts` = `contacts` + excluded.`contacts`;

	INSERT INTO `retention_scope_contacts` (`workspace_id`, `contact_hash`, `rollup_id`, `first_message_at`, `first_click_at`)
	SELECT NEW.`workspace_id`, NEW.`contact_hash`, NEW.`rollup_id`,
		CASE NEW.`kind` WHEN 'message' THEN `new_at` END, CASE NEW.`kind` WHEN 'click' THEN `new_at` END
	FROM (
			SELECT `old_at`, CASE WHEN NEW.`exact` THEN NEW.`at` ELSE MIN(COALESCE(`old_at`, NEW.`at`), NEW.`at`) END AS `new_at`
			FROM (SELECT (SELECT CASE NEW.`kind` WHEN 'message' THEN `first_message_at` ELSE `first_click_at` END 	FROM `retention_scope_contacts` 	WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash` AND `rollup_id` = NEW.`rollup_id`) AS `old_at`)
		)
	WHERE true
	ON CONFLICT DO UPDATE SET
		`first_message_at` = CASE NEW.`kind` WHEN 'message' THEN excluded.`first_message_at` ELSE `first_message_at` END,
		`first_click_at` = CASE NEW.`kind` WHEN 'click' THEN excluded.`first_click_at` ELSE `first_click_at` END;
END;
--> statement-breakpoint
-- As the first statement of retention_return_arrives, for the contact's cohorts in its scopes.
CREATE TRIGGER `retention_scope_return_arrives` INSTEAD OF INSERT ON `retention_scope_return_events`
WHEN NOT EXISTS (
	SELECT 1 FROM `retention_quarters`
	WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash` AND `quarter` = NEW.`at` / 900000
		AND `mask` & NEW.`bit` != 0)
	AND EXISTS (
		SELECT 1 FROM `retention_scope_contacts` WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash`)
BEGIN
	INSERT INTO `retention_counts` (`workspace_id`, `grain`, `start_kind`, `return_kind`, `cohort`, `period`, `contacts`)
	SELECT s.`rollup_id`, p.`grain`, s.`kind`, k.`kind`, s.`cohort`, p.`bucket` - s.`cohort`, 1
	FROM (
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
		SELECT g.`grain`, f.`rollup_id`, f.`kind`,
			CASE g.`grain` WHEN 'd' THEN f.`at` / 86400000 WHEN 'w' THEN (f.`at` / 86400000 + 3) / 7
				ELSE (CAST(strftime('%Y', f.`at` / 1000, 'unixepoch') AS INTEGER) - 1970) * 12
					+ CAST(strftime('%m', f.`at` / 1000, 'unixepoch') AS INTEGER) - 1 END AS `cohort`
		FROM `retention_grains` g, (
			SELECT `rollup_id`, 'message' AS `kind`, `first_message_at` AS `at` FROM `retention_scope_contacts`
			WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash`
			UNION ALL
			SELECT `rollup_id`, 'click', `first_click_at` FROM `retention_scope_contacts`
			WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash`
		) f
		WHERE f.`at` IS NOT NULL
	) s ON s.`grain` = p.`grain`
	JOIN `retention_return_kinds` k ON (k.`bits` & NEW.`bit`) != 0 AND (k.`bits` & COALESCE(p.`mask`, 0)) = 0
	WHERE p.`bucket` - s.`cohort` BETWEEN 1 AND 59
	ON CONFLICT DO UPDATE SET `contacts` = `contacts` + 1;
END;
--> statement-breakpoint
DROP TRIGGER `retention_returns_fan_out`;
--> statement-breakpoint
CREATE TRIGGER `retention_returns_fan_out` INSTEAD OF INSERT ON `retention_returns`
BEGIN
	INSERT INTO `retention_scope_return_events` VALUES (NEW.`workspace_id`, NEW.`contact_hash`, NEW.`at`, NEW.`bit`);
	INSERT INTO `retention_return_events` VALUES (NEW.`workspace_id`, NEW.`contact_hash`, NEW.`at`, NEW.`bit`);
	INSERT INTO `retention_return_events`
	SELECT z.`rollup_id`, NEW.`contact_hash`, NEW.`at` + (
		SELECT o.`offset_ms` FROM `zone_offsets` o WHERE o.`zone` = z.`zone` AND o.`from_ms` <= NEW.`at`
		ORDER BY o.`from_ms` DESC LIMIT 1), NEW.`bit`
	FROM `retention_zones` z
	WHERE z.`workspace_id` = NEW.`workspace_id` AND z.`dropping` = 0
		AND (z.`filled_to` IS NULL OR NEW.`contact_hash` <= z.`filled_to`);
END;
--> statement-breakpoint
-- The scopes of what the rollups have applied so far, and their contacts' first starts in them (safe to
-- run again: scopes are kept, and a start only ever moves a first start earlier).
INSERT OR IGNORE INTO `retention_scopes` (`workspace_id`, `campaign_id`, `variant`, `rollup_id`)
SELECT `workspace_id`, `campaign_id`, `variant`, `workspace_id` || '|campaign|' || lower(hex(randomblob(8))) FROM (
	SELECT `workspace_id`, `campaign_id`, '' AS `variant` FROM `message_rollup_applied`
	WHERE `campaign_id` IS NOT NULL AND `contact_hash` IS NOT NULL AND `report_at` IS NOT NULL
	UNION
	SELECT `workspace_id`, `campaign_id`, `variant` FROM `message_rollup_applied`
	WHERE `campaign_id` IS NOT NULL AND `variant` != '' AND `contact_hash` IS NOT NULL AND `report_at` IS NOT NULL
	UNION
	SELECT `workspace_id`, `campaign_id`, '' FROM `clicks`
	WHERE `kind` = 'click' AND `campaign_id` IS NOT NULL AND `contact_hash` IS NOT NULL
	UNION
	SELECT `workspace_id`, `campaign_id`, `variant` FROM `clicks`
	WHERE `kind` = 'click' AND `campaign_id` IS NOT NULL AND `variant` != '' AND `contact_hash` IS NOT NULL
);
--> statement-breakpoint
INSERT INTO `retention_scope_start_events` (`workspace_id`, `rollup_id`, `contact_hash`, `kind`, `at`, `exact`)
SELECT a.`workspace_id`, s.`rollup_id`, a.`contact_hash`, 'message', MIN(a.`report_at`), 0
FROM `message_rollup_applied` a
JOIN `retention_scopes` s ON s.`workspace_id` = a.`workspace_id` AND s.`campaign_id` = a.`campaign_id`
	AND (s.`variant` = '' OR s.`variant` = a.`variant`)
WHERE a.`contact_hash` IS NOT NULL AND a.`report_at` IS NOT NULL
GROUP BY a.`workspace_id`, s.`rollup_id`, a.`contact_hash`;
--> statement-breakpoint
INSERT INTO `retention_scope_start_events` (`workspace_id`, `rollup_id`, `contact_hash`, `kind`, `at`, `exact`)
SELECT c.`workspace_id`, s.`rollup_id`, c.`contact_hash`, 'click', MIN(c.`occurred_at`), 0
FROM `clicks` c
JOIN `retention_scopes` s ON s.`workspace_id` = c.`workspace_id` AND s.`campaign_id` = c.`campaign_id`
	AND (s.`variant` = '' OR s.`variant` = c.`variant`)
WHERE c.`kind` = 'click' AND c.`contact_hash` IS NOT NULL
GROUP BY c.`workspace_id`, s.`rollup_id`, c.`contact_hash`;
