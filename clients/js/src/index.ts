export { AdminCalls, ReferralClient, VERSION } from "./client.js";
export type { CallOptions, ClickOptions, ReferralClientOptions } from "./client.js";
export {
  BozorApiError,
  BozorClientError,
  BozorConnectionError,
  BozorError,
  BozorServerError,
  WebhookVerificationError,
} from "./errors.js";
export { DEFAULT_RETRY, NO_RETRIES, RETRY_STATUSES, parseRetryAfter } from "./retry.js";
export type { RetryPolicy } from "./retry.js";
export { SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook, verifyWebhook } from "./webhooks.js";
export type { HeaderSource, RawBody, VerifyOptions } from "./webhooks.js";
export type * from "./types.js";
export type { components, paths } from "./openapi.js";
