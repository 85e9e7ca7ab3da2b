/**
 * An error as a log line or a dead letter may carry it. drizzle's query errors append the query's
 * parameters to their message ("Failed query: …\nparams: …"), and those can hold contact hashes,
 * order and client ids or key hashes: they are cut, from the message and from the stack that repeats it.
 */
export function loggableError(err: unknown): string {
  return withoutParams(String(err));
}

/** The error's stack (or its text), without query parameters. */
export function loggableStack(err: unknown): string | undefined {
  return err instanceof Error && err.stack ? withoutParams(err.stack) : undefined;
}

/** Cuts each "params: …" section, up to the stack's next frame or the end. */
export function withoutParams(text: string): string {
  return text.replace(/\nparams: [\s\S]*?(?=\n\s+at |$)/g, "\nparams: (left out)");
}
