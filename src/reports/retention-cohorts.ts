// Rolled-up cohorts are one query with no maths of its own, so it lives in src/db with its types.
export {
  readRolledUpCohorts,
  readStartSpan,
  type CohortCount,
  type CohortQuery,
  type ReturnKind,
  type StartKind,
} from "../db/reports/retention-cohorts";
