/** When to send a request again, and how long to wait first (as the Python client does). */

/** Statuses worth sending a retry-safe request again for. A 500 is a bug: it is not retried. */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

export interface RetryPolicy {
  /** Sends after the first one (default 3). */
  retries: number;
  /** Seconds before the first retry, doubling each time, with jitter (default 0.5). */
  backoff: number;
  /** The longest pause between two sends, in seconds (default 8). */
  maxBackoff: number;
  /** A longer Retry-After is not waited for: the error carries it (default 60 s). */
  maxRetryAfter: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, backoff: 0.5, maxBackoff: 8, maxRetryAfter: 60 };
export const NO_RETRIES: RetryPolicy = { ...DEFAULT_RETRY, retries: 0 };

/** The pause before retry number `retry` (0-based), in seconds: between half and all of the step. */
export function backoffFor(policy: RetryPolicy, retry: number): number {
  const step = Math.min(policy.maxBackoff, policy.backoff * 2 ** retry);
  return step / 2 + Math.random() * (step / 2);
}

/** Seconds from a Retry-After header: delay-seconds or an HTTP date; undefined if absent or bad. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const when = Date.parse(text);
  if (Number.isNaN(when)) return undefined;
  return Math.max(0, (when - now) / 1000);
}
