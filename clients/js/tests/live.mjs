// What the tests against a real Bozor share. tests/client/test_js_client.py starts Bozor
// (on SQLite and on PostgreSQL) and runs these tests with its URL and two API keys.
import { ReferralClient } from "bozor-referrals";

export const BOZOR_URL = process.env.BOZOR_URL;
export const API_KEY = process.env.BOZOR_API_KEY;
export const ADMIN_KEY = process.env.BOZOR_ADMIN_KEY;
/** For `test(name, { skip: live }, ...)`: a reason to skip without a Bozor to call. */
export const live = BOZOR_URL && API_KEY && ADMIN_KEY
  ? false
  : "no Bozor: run `pytest tests/client/test_js_client.py` (it starts one), or set BOZOR_URL, BOZOR_API_KEY and BOZOR_ADMIN_KEY";

export const FAST = { backoff: 0.01, maxBackoff: 0.05 };

export function client(options = {}) {
  return new ReferralClient({ baseUrl: BOZOR_URL, apiKey: API_KEY, retry: FAST, ...options });
}

export function admin(options = {}) {
  return new ReferralClient({ baseUrl: BOZOR_URL, apiKey: ADMIN_KEY, retry: FAST, ...options }).admin;
}

let counter = 0;
/** An id no other test uses (the database is shared by the test files of one run). */
export function uid(prefix) {
  return `${prefix}-${process.pid}-${++counter}`;
}

/** Wait until `check()` gives something truthy (background work); fails after `timeoutMs`. */
export async function eventually(check, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > until) throw new Error(`not within ${timeoutMs} ms: ${check}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
