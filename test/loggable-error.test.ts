import { describe, expect, it } from "vitest";
import { loggableError, loggableStack, withoutParams } from "../src/lib/loggable-error";

// drizzle's query errors, as they read: the SQL, then the parameters on a line of their own.
const failed = () => {
  const err = new Error(
    'Failed query: insert into "conversions" ("id", "order_id") values (?, ?)\nparams: cnv_1,Q-7,\nline',
  );
  err.stack = `Error: ${err.message}\n    at insertConversion (src/db/conversions.ts:10:3)\n    at write (src/events/write.ts:20:5)`;
  return err;
};

describe("loggableError", () => {
  it("keeps the statement and drops its parameters, even across lines", () => {
    expect(loggableError(failed())).toBe(
      'Error: Failed query: insert into "conversions" ("id", "order_id") values (?, ?)\nparams: (left out)',
    );
  });

  it("keeps the stack's frames", () => {
    expect(loggableStack(failed())).toBe(
      'Error: Failed query: insert into "conversions" ("id", "order_id") values (?, ?)\nparams: (left out)\n' +
        "    at insertConversion (src/db/conversions.ts:10:3)\n    at write (src/events/write.ts:20:5)",
    );
  });

  it("leaves other errors as they are", () => {
    expect(loggableError(new TypeError("queue unavailable"))).toBe("TypeError: queue unavailable");
    expect(loggableError("plain text")).toBe("plain text");
    expect(loggableStack("plain text")).toBeUndefined();
    expect(withoutParams("no parameters here")).toBe("no parameters here");
  });
});
