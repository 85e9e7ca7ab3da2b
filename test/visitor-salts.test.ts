import { createScheduledController, env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { claimVisitorSalt } from "../src/db/visitor-salts";
import worker from "../src/index";
import { decryptJson, encryptJson } from "../src/lib/crypto";
import { visitorHash, visitorSaltDay } from "../src/lib/visit";
import { forgetCachedVisitorSalts, visitorSalt } from "../src/visitors/salt";
import { ANDROID_CHROME, callJson, callWorker, createLink, createWorkspace } from "./helpers";

const DAY = 86_400_000;
const IP = "198.51.100.23";

afterEach(() => {
  vi.useRealTimers();
  forgetCachedVisitorSalts();
});

/** A visitor's hash as this isolate computes it for a visit at `at`. */
async function hashAt(at: number, ip = IP) {
  return visitorHash(await visitorSalt(env, at), ip, ANDROID_CHROME);
}

async function storedSalts() {
  const { results } = await env.DB.prepare("SELECT day, sealed, created_at FROM visitor_salts ORDER BY day").all<{
    day: string;
    sealed: string;
    created_at: number;
  }>();
  return results;
}

describe("daily visitor salts", () => {
  it("hash a visitor the same way all day, in every isolate, and differently the next day", async () => {
    const morning = Date.UTC(2031, 4, 6, 8);
    const first = await hashAt(morning);
    expect(await hashAt(morning + 10 * 3_600_000)).toBe(first);
    expect(await hashAt(morning, "198.51.100.24")).not.toBe(first);
    // A new isolate reads the day's salt back instead of making another.
    forgetCachedVisitorSalts();
    expect(await hashAt(morning + 3_600_000)).toBe(first);
    expect(await hashAt(morning + DAY)).not.toBe(first);

    const days = (await storedSalts()).filter((s) => s.day.startsWith("2031-05"));
    expect(days.map((s) => s.day)).toEqual(["2031-05-06", "2031-05-07"]);
  });

  it("are random and stored only sealed with DATA_KEY", async () => {
    const at = Date.UTC(2031, 6, 1, 12);
    await visitorSalt(env, at);
    await visitorSalt(env, at + DAY);
    const [a, b] = (await storedSalts()).filter((s) => s.day.startsWith("2031-07"));
    expect(a.sealed).toMatch(/^v1\./);
    const [saltA, saltB] = await Promise.all([a, b].map((s) => decryptJson<string>(env.DATA_KEY, s.sealed)));
    expect(saltA).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(saltB).not.toBe(saltA);
    expect(a.sealed).not.toContain(saltA);
  });

  it("end with one salt per day when two isolates create it at once", async () => {
    const day = "2031-08-01";
    const [mine, theirs] = await Promise.all(["mine", "theirs"].map(async (salt) => encryptJson(env.DATA_KEY, salt)));
    const answers = await Promise.all([
      claimVisitorSalt(env.DB, day, mine, Date.now()),
      claimVisitorSalt(env.DB, day, theirs, Date.now()),
    ]);
    expect(answers[0]).toBe(answers[1]);
    expect([mine, theirs]).toContain(answers[0]);
    expect((await storedSalts()).filter((s) => s.day === day)).toHaveLength(1);
    // And an isolate that comes later uses the one that won.
    const won = await decryptJson<string>(env.DATA_KEY, answers[0]);
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(won),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    expect(await hashAt(Date.parse(`${day}T10:00:00Z`))).toBe(await visitorHash(key, IP, ANDROID_CHROME));
  });

  it("are deleted by the daily cron once older than two days", async () => {
    const now = Date.UTC(2031, 9, 10, 3, 17);
    for (const ageInDays of [3, 2.1, 1, 0]) {
      const at = now - ageInDays * DAY;
      await claimVisitorSalt(env.DB, visitorSaltDay(at), await encryptJson(env.DATA_KEY, `salt-${ageInDays}`), at);
    }
    await worker.scheduled(createScheduledController({ scheduledTime: now, cron: "17 3 * * *" }), env);
    const left = (await storedSalts()).filter((s) => s.day.startsWith("2031-10"));
    expect(left.map((s) => s.day)).toEqual(["2031-10-09", "2031-10-10"]);
  });

  it("count a visitor's clicks as unique once per day", async () => {
    const { adminKey } = await createWorkspace({ clickDedupSeconds: 86_400 });
    const link = await createLink(adminKey);
    const visit = () =>
      callWorker(`/${link.code}`, { headers: { "user-agent": ANDROID_CHROME, "cf-connecting-ip": IP } });
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.UTC(2031, 10, 3, 22, 0));
    await visit();
    vi.setSystemTime(Date.UTC(2031, 10, 3, 23, 0));
    await visit();
    // An hour later it is another day: the same visitor has another hash, and clicks as unique again.
    vi.setSystemTime(Date.UTC(2031, 10, 4, 0, 0));
    await visit();
    vi.useRealTimers();
    expect((await callJson(`/api/v1/links/${link.code}`, { key: adminKey })).body).toMatchObject({
      clicks: 3,
      uniqueClicks: 2,
    });
  });
});
