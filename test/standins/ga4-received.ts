import type { Ga4Issue } from "../../src/lib/ga4-rules";

/** One request the GA4 stand-in (./ga4.ts) received, as tests in the Workers runtime read it back. */
export type Received = {
  at: number;
  method: string;
  query: Record<string, string>;
  contentType: string | null;
  bytes: number;
  body: unknown;
  problems: Ga4Issue[];
  answered: number | "dropped";
};
