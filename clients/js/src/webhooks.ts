/**
 * Checking that a webhook delivery comes from Bozor, recently: the same scheme as Bozor's
 * `bozor.webhook_signing` and the Python client's `verify_webhook`.
 *
 * A delivery carries `X-Bozor-Timestamp: <unix seconds>` and
 * `X-Bozor-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>" keyed with the secret>`,
 * with several comma-separated values while a secret is being rotated.
 */

import { webCrypto } from "./crypto.js";
import { WebhookVerificationError } from "./errors.js";
import type { WebhookEvent } from "./types.js";

export const TIMESTAMP_HEADER = "X-Bozor-Timestamp";
export const SIGNATURE_HEADER = "X-Bozor-Signature";
const SCHEME = "v1";
const encoder = new TextEncoder();

/** A raw request body: before any JSON parsing. A Node Buffer is a Uint8Array. */
export type RawBody = string | Uint8Array | ArrayBuffer;
/** Request headers: a fetch `Headers`, or Node's `req.headers` (any case of names). */
export type HeaderSource =
  | { get(name: string): string | null }
  | Record<string, string | string[] | undefined>;

export interface VerifyOptions {
  /** Seconds the timestamp may be from now (default 300). */
  tolerance?: number;
  /** Now, in Unix seconds (for tests). */
  now?: number;
}

function bytes(body: RawBody): Uint8Array {
  if (typeof body === "string") return encoder.encode(body);
  return body instanceof Uint8Array ? body : new Uint8Array(body);
}

function header(headers: HeaderSource, name: string): string {
  if (typeof headers.get === "function") {
    return (headers as { get(name: string): string | null }).get(name) ?? "";
  }
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
    if (key.toLowerCase() === wanted) {
      return Array.isArray(value) ? value.join(",") : typeof value === "string" ? value : "";
    }
  }
  return "";
}

/** The `X-Bozor-Signature` value for this body sent at this time: `v1=<hex>`. */
export async function signWebhook(secret: string, body: RawBody, timestamp: string | number): Promise<string> {
  const subtle = (await webCrypto()).subtle;
  const key = await subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const prefix = encoder.encode(`${timestamp}.`);
  const raw = bytes(body);
  const message = new Uint8Array(prefix.length + raw.length);
  message.set(prefix);
  message.set(raw, prefix.length);
  const digest = new Uint8Array(await subtle.sign("HMAC", key, message));
  return `${SCHEME}=${Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Equal strings, compared in time that does not depend on where they differ. */
function same(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ (y[i % Math.max(y.length, 1)] ?? 0);
  return diff === 0;
}

/**
 * The delivery's JSON, once its signature and timestamp check out; throws
 * `WebhookVerificationError` otherwise.
 *
 * `rawBody` is the request body as received (before any JSON parsing: re-serialised JSON
 * does not match). One matching signature is enough (during a rotation there are two).
 */
export async function verifyWebhook<T = Record<string, unknown>>(
  secret: string,
  headers: HeaderSource,
  rawBody: RawBody,
  options: VerifyOptions = {},
): Promise<WebhookEvent<T>> {
  const timestamp = header(headers, TIMESTAMP_HEADER);
  const signature = header(headers, SIGNATURE_HEADER);
  if (!/^\s*[+-]?\d+\s*$/.test(timestamp)) {
    throw new WebhookVerificationError("The timestamp is not a number of seconds.");
  }
  const sentAt = Number.parseInt(timestamp, 10);
  const now = options.now ?? Date.now() / 1000;
  if (Math.abs(now - sentAt) > (options.tolerance ?? 300)) {
    throw new WebhookVerificationError("The timestamp is too far from now (a replay?).");
  }
  const expected = await signWebhook(secret, rawBody, timestamp);
  const matches = signature.split(",").map((value) => same(expected, value.trim())); // all, in full
  if (!matches.includes(true)) {
    throw new WebhookVerificationError("The signature does not match.");
  }
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder().decode(bytes(rawBody)));
  } catch {
    throw new WebhookVerificationError("The body is not JSON.");
  }
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    throw new WebhookVerificationError("The body is not a JSON object.");
  }
  return payload as WebhookEvent<T>;
}
