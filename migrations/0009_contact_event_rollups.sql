-- CSAT answers, chatbot outcomes and custom events per type, counted where they happened (occurred_at).
-- Values are summed as integer micros so that CSAT sums (whole numbers 1–5) stay exact.
CREATE TABLE `contact_event_rollups` (
	`workspace_id` text NOT NULL,
	`grain` text NOT NULL,
	`bucket` integer NOT NULL,
	`campaign_id` text NOT NULL,
	`type` text NOT NULL,
	`events` integer NOT NULL,
	`value_micros` integer NOT NULL,
	PRIMARY KEY (`workspace_id`, `grain`, `bucket`, `campaign_id`, `type`)
) WITHOUT ROWID;
--> statement-breakpoint
-- Events have no idempotency key: every accepted event is a new row, and counts once.
-- An occurredAt before 1970 is accepted, so buckets are floored (SQLite's `/` truncates towards zero).
CREATE TRIGGER `contact_events_roll_up` AFTER INSERT ON `contact_events`
BEGIN
  INSERT INTO `contact_event_rollups` (`workspace_id`, `grain`, `bucket`, `campaign_id`, `type`, `events`, `value_micros`)
  VALUES
    (NEW.`workspace_id`, 'q', (NEW.`occurred_at` - (NEW.`occurred_at` < 0) * 899999) / 900000,
      COALESCE(NEW.`campaign_id`, ''), NEW.`type`, 1, CAST(ROUND(COALESCE(NEW.`value`, 0) * 1000000) AS INTEGER)),
    (NEW.`workspace_id`, 'd', (NEW.`occurred_at` - (NEW.`occurred_at` < 0) * 86399999) / 86400000,
      COALESCE(NEW.`campaign_id`, ''), NEW.`type`, 1, CAST(ROUND(COALESCE(NEW.`value`, 0) * 1000000) AS INTEGER))
  ON CONFLICT DO UPDATE SET
    `events` = `events` + excluded.`events`,
    `value_micros` = `value_micros` + excluded.`value_micros`;
END;
--> statement-breakpoint
-- Contacts' messages to the business per time of the inbound message: how many, how many the business
-- answered (responded_at set), and the sum of the times it took, for the average response time.
CREATE TABLE `inbound_rollups` (
	`workspace_id` text NOT NULL,
	`grain` text NOT NULL,
	`bucket` integer NOT NULL,
	`inbound` integer NOT NULL,
	`responded` integer NOT NULL,
	`response_ms` integer NOT NULL,
	PRIMARY KEY (`workspace_id`, `grain`, `bucket`)
) WITHOUT ROWID;
--> statement-breakpoint
-- responded_at is the earliest report_at of a message to the same contact strictly after the inbound
-- one: the business's next message, whichever of the two arrived first. The rollup counts the inbound
-- message first; setting responded_at then moves its response into the rollup through the trigger below.
CREATE TRIGGER `inbound_messages_roll_up` AFTER INSERT ON `inbound_messages`
BEGIN
  INSERT INTO `inbound_rollups` (`workspace_id`, `grain`, `bucket`, `inbound`, `responded`, `response_ms`)
  VALUES
    (NEW.`workspace_id`, 'q', NEW.`occurred_at` / 900000, 1, NEW.`responded_at` IS NOT NULL,
      COALESCE(NEW.`responded_at` - NEW.`occurred_at`, 0)),
    (NEW.`workspace_id`, 'd', NEW.`occurred_at` / 86400000, 1, NEW.`responded_at` IS NOT NULL,
      COALESCE(NEW.`responded_at` - NEW.`occurred_at`, 0))
  ON CONFLICT DO UPDATE SET
    `inbound` = `inbound` + excluded.`inbound`,
    `responded` = `responded` + excluded.`responded`,
    `response_ms` = `response_ms` + excluded.`response_ms`;
  UPDATE `inbound_messages` SET `responded_at` = (
    SELECT MIN(m.`report_at`) FROM `messages` m
    WHERE m.`workspace_id` = NEW.`workspace_id` AND m.`contact_hash` = NEW.`contact_hash`
      AND m.`report_at` > NEW.`occurred_at`)
  WHERE NEW.`contact_hash` IS NOT NULL AND `workspace_id` = NEW.`workspace_id` AND `id` = NEW.`id`;
END;
--> statement-breakpoint
-- An inbound message keeps its workspace and time; only its response moves (subtract old, add new).
CREATE TRIGGER `inbound_messages_move_response` AFTER UPDATE OF `responded_at` ON `inbound_messages`
WHEN OLD.`responded_at` IS NOT NEW.`responded_at`
BEGIN
  INSERT INTO `inbound_rollups` (`workspace_id`, `grain`, `bucket`, `inbound`, `responded`, `response_ms`)
  VALUES
    (NEW.`workspace_id`, 'q', NEW.`occurred_at` / 900000, 0,
      (NEW.`responded_at` IS NOT NULL) - (OLD.`responded_at` IS NOT NULL),
      COALESCE(NEW.`responded_at` - NEW.`occurred_at`, 0) - COALESCE(OLD.`responded_at` - OLD.`occurred_at`, 0)),
    (NEW.`workspace_id`, 'd', NEW.`occurred_at` / 86400000, 0,
      (NEW.`responded_at` IS NOT NULL) - (OLD.`responded_at` IS NOT NULL),
      COALESCE(NEW.`responded_at` - NEW.`occurred_at`, 0) - COALESCE(OLD.`responded_at` - OLD.`occurred_at`, 0))
  ON CONFLICT DO UPDATE SET
    `responded` = `responded` + excluded.`responded`,
    `response_ms` = `response_ms` + excluded.`response_ms`;
END;
--> statement-breakpoint
-- A new message can only answer earlier: it becomes the response of the contact's inbound messages
-- between the contact's previous message and itself that have no earlier one. Earlier inbound messages
-- are already answered by that previous message, so the index range stays short on long histories.
-- Other insert triggers may already have moved the new row (gathering an earlier click sets clicked_at);
-- the update trigger below has then placed it, and NEW, the row as inserted, must not place it again.
CREATE TRIGGER `messages_answer_inbound` AFTER INSERT ON `messages`
WHEN NEW.`contact_hash` IS NOT NULL AND NEW.`report_at` IS NOT NULL AND EXISTS (
  SELECT 1 FROM `messages` WHERE `workspace_id` = NEW.`workspace_id` AND `id` = NEW.`id`
    AND `contact_hash` = NEW.`contact_hash` AND `report_at` = NEW.`report_at`)
BEGIN
  UPDATE `inbound_messages` SET `responded_at` = NEW.`report_at`
  WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash`
    AND `occurred_at` < NEW.`report_at`
    AND `occurred_at` >= COALESCE((
      SELECT MAX(m.`report_at`) FROM `messages` m
      WHERE m.`workspace_id` = NEW.`workspace_id` AND m.`contact_hash` = NEW.`contact_hash`
        AND m.`report_at` < NEW.`report_at`), -9e15)
    AND (`responded_at` IS NULL OR `responded_at` > NEW.`report_at`);
END;
--> statement-breakpoint
-- Statuses touch these columns all the time but rarely move report_at (the earliest step) or the contact;
-- only then does anything happen. First the inbound messages this message answered at its old place are
-- recomputed (another message, or none, may answer them now), then it answers as a new message would,
-- unless a later update of the row (from another trigger) already moved it on and placed it there.
CREATE TRIGGER `messages_move_answer` AFTER UPDATE OF
  `sent_at`, `delivered_at`, `read_at`, `failed_at`, `clicked_at`, `contact_hash` ON `messages`
WHEN OLD.`report_at` IS NOT NEW.`report_at` OR OLD.`contact_hash` IS NOT NEW.`contact_hash`
BEGIN
  UPDATE `inbound_messages` SET `responded_at` = (
    SELECT MIN(m.`report_at`) FROM `messages` m
    WHERE m.`workspace_id` = OLD.`workspace_id` AND m.`contact_hash` = OLD.`contact_hash`
      AND m.`report_at` > `inbound_messages`.`occurred_at`)
  WHERE OLD.`contact_hash` IS NOT NULL AND OLD.`report_at` IS NOT NULL
    AND `workspace_id` = OLD.`workspace_id` AND `contact_hash` = OLD.`contact_hash`
    AND `occurred_at` < OLD.`report_at`
    AND `occurred_at` >= COALESCE((
      SELECT MAX(m.`report_at`) FROM `messages` m
      WHERE m.`workspace_id` = OLD.`workspace_id` AND m.`contact_hash` = OLD.`contact_hash`
        AND m.`report_at` < OLD.`report_at`), -9e15)
    AND `responded_at` = OLD.`report_at`;
  UPDATE `inbound_messages` SET `responded_at` = NEW.`report_at`
  WHERE NEW.`contact_hash` IS NOT NULL AND NEW.`report_at` IS NOT NULL AND EXISTS (
      SELECT 1 FROM `messages` WHERE `workspace_id` = NEW.`workspace_id` AND `id` = NEW.`id`
        AND `contact_hash` = NEW.`contact_hash` AND `report_at` = NEW.`report_at`)
    AND `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash`
    AND `occurred_at` < NEW.`report_at`
    AND `occurred_at` >= COALESCE((
      SELECT MAX(m.`report_at`) FROM `messages` m
      WHERE m.`workspace_id` = NEW.`workspace_id` AND m.`contact_hash` = NEW.`contact_hash`
        AND m.`report_at` < NEW.`report_at`), -9e15)
    AND (`responded_at` IS NULL OR `responded_at` > NEW.`report_at`);
END;
