/**
 * The stages of a campaign's audiences (SPEC §13): the messages to follow up, by how far each got.
 * They are exclusive as named: a message is in the furthest stage it reached, by the inference rules
 * of message state (src/whatsapp/message-state.ts: a human click implies read, read implies
 * delivered, and a `failed` followed by any of them counts as delivered; a conversion implies the
 * click, as in the rollups). `limited` is a message that failed with error 131049 (Meta limited
 * marketing messages to that user) and shows no delivery since: one to retry a day later.
 */
export const AUDIENCE_STAGES = [
  "delivered_not_read",
  "read_not_clicked",
  "clicked_not_converted",
  "converted",
  "limited",
] as const;
export type AudienceStage = (typeof AUDIENCE_STAGES)[number];

/** The stage's number in `messages.audience_stage`: a small integer keeps the index narrow. */
export const audienceStageCode = (stage: AudienceStage) => AUDIENCE_STAGES.indexOf(stage) + 1;

// Meta reports one error per failed status. Stored errors are JSON as received; the check of
// json_valid keeps a value that is not (written by hand) from failing every write to its row.
const LIMITED = `CASE WHEN json_valid(errors) THEN json_extract(errors, '$[0].code') END IN (131049, '131049')`;

/** Furthest first: the first condition that holds names the stage, its column the time it was reached. */
const RULES: { stage: AudienceStage; when: string; reachedAt: string }[] = [
  { stage: "converted", when: "converted_at IS NOT NULL", reachedAt: "converted_at" },
  { stage: "clicked_not_converted", when: "clicked_at IS NOT NULL", reachedAt: "clicked_at" },
  { stage: "read_not_clicked", when: "read_at IS NOT NULL", reachedAt: "read_at" },
  { stage: "delivered_not_read", when: "delivered_at IS NOT NULL", reachedAt: "delivered_at" },
  { stage: "limited", when: `failed_at IS NOT NULL AND ${LIMITED}`, reachedAt: "failed_at" },
];

/**
 * The generated column `messages.audience_stage`: null for a message in no audience, among them
 * group messages, which have no recipient of their own.
 */
export const AUDIENCE_STAGE_SQL = `CASE WHEN is_group = 1 THEN NULL ${RULES.map(
  (r) => `WHEN ${r.when} THEN ${audienceStageCode(r.stage)}`,
).join(" ")} END`;

/** The generated column `messages.audience_at`: when the message reached its stage. */
export const AUDIENCE_AT_SQL = `CASE audience_stage ${RULES.map(
  (r) => `WHEN ${audienceStageCode(r.stage)} THEN ${r.reachedAt}`,
).join(" ")} END`;
