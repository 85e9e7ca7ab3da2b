import { describe, expect, it } from "vitest";
import {
  MAX_ATTEMPTS,
  newWebhookSecret,
  nextAttemptDelayMs,
  RETRY_SCHEDULE_S,
  signWebhook,
} from "../src/lib/standard-webhooks";

describe("Standard Webhooks signing", () => {
  it("signs the specification's example as it says", async () => {
    // The example of the Standard Webhooks specification (standard-webhooks.md, "Signature scheme").
    expect(
      await signWebhook(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        '{"test": 2432232314}',
      ),
    ).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("makes secrets of whsec_ and base64 of 24 to 64 random bytes, never the same twice", () => {
    const secrets = Array.from({ length: 50 }, newWebhookSecret);
    for (const secret of secrets) {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      const bytes = atob(secret.slice(6)).length;
      expect(bytes).toBeGreaterThanOrEqual(24);
      expect(bytes).toBeLessThanOrEqual(64);
    }
    expect(new Set(secrets).size).toBe(50);
  });

  it("waits as the specification's schedule says, with jitter, and at least as long as Retry-After asks", () => {
    expect(RETRY_SCHEDULE_S).toEqual([5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]);
    expect(MAX_ATTEMPTS).toBe(10);
    for (let attempts = 1; attempts < MAX_ATTEMPTS; attempts++) {
      const base = RETRY_SCHEDULE_S[attempts - 1] * 1000;
      expect(nextAttemptDelayMs(attempts, null, 0)).toBeCloseTo(base * 0.9);
      expect(nextAttemptDelayMs(attempts, null, 1)).toBeCloseTo(base * 1.1);
    }
    expect(nextAttemptDelayMs(1, 120, 0.5)).toBe(120_000);
  });
});
