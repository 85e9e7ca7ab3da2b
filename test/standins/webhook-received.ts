/** One request the webhook receiver (./webhook-receiver.ts) got, as tests in the Workers runtime read it back. */
export type Delivered = {
  at: number;
  headers: Record<string, string>;
  body: string;
  /** Whether the signature is valid as the Standard Webhooks specification describes, and why not. */
  verified: boolean;
  problem: string | null;
  answered: number | "dropped";
};
