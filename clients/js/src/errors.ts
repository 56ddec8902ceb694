/** What the client throws: problem details from the API, or no answer at all. */

import type { Problem } from "./types.js";

/** Anything the client throws on purpose. */
export class BozorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The API gave no answer (connection refused, timeout...), after any retries. */
export class BozorConnectionError extends BozorError {}

/** The API answered with an error: the fields of its RFC 9457 problem details. */
export class BozorApiError extends BozorError {
  /** The HTTP status, e.g. 409. */
  readonly status: number;
  readonly title: string;
  /** For people; may change. */
  readonly detail: string | undefined;
  /** Stable, for programs, e.g. "referral.already"; undefined for transport-level errors. */
  readonly code: string | undefined;
  readonly type: string;
  /** Seconds, when the API said when to come back (429, 503). */
  readonly retryAfter: number | undefined;
  /** The whole problem body, with any extra members (`errors` for request.invalid). */
  readonly problem: Partial<Problem> & Record<string, unknown>;

  constructor(init: {
    status: number;
    title: string;
    detail?: string | undefined;
    code?: string | undefined;
    type?: string | undefined;
    retryAfter?: number | undefined;
    problem?: Record<string, unknown> | undefined;
  }) {
    super(init.detail ? `${init.status} ${init.title}: ${init.detail}` : `${init.status} ${init.title}`);
    this.status = init.status;
    this.title = init.title;
    this.detail = init.detail;
    this.code = init.code;
    this.type = init.type ?? "about:blank";
    this.retryAfter = init.retryAfter;
    this.problem = init.problem ?? {};
  }

  /** 4xx: the request should change before it is sent again (or wait, for 429). */
  get isClientError(): boolean {
    return this.status >= 400 && this.status < 500;
  }

  /** Each invalid part of the request, for a 422 `request.invalid`. */
  get errors(): { location: string; message: string }[] {
    const errors = this.problem.errors;
    return Array.isArray(errors) ? errors : [];
  }
}

/** A 4xx answer: not found, conflict, invalid input, bad credentials, rate limited. */
export class BozorClientError extends BozorApiError {}

/** A 5xx (or otherwise unexpected) answer. */
export class BozorServerError extends BozorApiError {}

/** The webhook delivery is not signed with the secret, is too old (a replay?), or is malformed. */
export class WebhookVerificationError extends BozorError {}
