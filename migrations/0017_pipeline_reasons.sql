-- Why the rollup consumer works on a message in a slice (bits: changed, clicked, converted, answered,
-- its contact's messages moved), so that it computes again only what those reasons can change.
ALTER TABLE `pipeline_messages` ADD `why` integer DEFAULT 0 NOT NULL;
