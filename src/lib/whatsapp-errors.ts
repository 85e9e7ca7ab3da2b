/**
 * WhatsApp failure codes that are outcomes of their own (SPEC §7): Meta limited marketing messages to
 * the user (retry later), or the user is in Meta's marketing experiment group.
 */
export const LIMITED_ERROR = 131049;
export const EXPERIMENT_ERROR = 130472;

/** The first error code of a failed status's `errors`, as stored (JSON), if any. */
export function firstErrorCode(errors: unknown): number | null {
  let list = errors;
  if (typeof list === "string") {
    try {
      list = JSON.parse(list);
    } catch {
      return null;
    }
  }
  if (!Array.isArray(list)) return null;
  for (const error of list) {
    const code = Number((error as { code?: unknown } | null)?.code);
    if (Number.isInteger(code)) return code;
  }
  return null;
}

export type FailureOutcome = "limited" | "experiment" | "failed";

/** What a failure was, by its first error code: limited, experiment, or any other failure. */
export function failureOutcome(errors: unknown): FailureOutcome {
  const code = firstErrorCode(errors);
  return code === LIMITED_ERROR ? "limited" : code === EXPERIMENT_ERROR ? "experiment" : "failed";
}
