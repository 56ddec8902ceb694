/**
 * ReferralClient: Bozor's referral REST API under the reference's (seed 004's) method names.
 *
 * Every call is described once (method, path, body, whether sending it twice is harmless) and
 * sent by `send`, which adds the credentials and an Idempotency-Key, retries what is safe to
 * retry, and turns error answers into `BozorApiError`s carrying the problem's `code`.
 */

import { randomId } from "./crypto.js";
import { BozorApiError, BozorClientError, BozorConnectionError, BozorServerError } from "./errors.js";
import { DEFAULT_RETRY, RETRY_STATUSES, type RetryPolicy, backoffFor, parseRetryAfter } from "./retry.js";
import type {
  ApiPath,
  CampaignCreate,
  CampaignRead,
  CampaignUpdate,
  ClaimCreate,
  ClaimRead,
  ClickCreate,
  ClickRead,
  DeliveryRead,
  DeliveryStatus,
  LinkCreate,
  LinkRead,
  ProgramSchema,
  ReferralFilter,
  ReferralCreate,
  ReferralPage,
  ReferralRead,
  ReferralResult,
  RejectCreate,
  RewardsRead,
  StatsRead,
  SubscriptionCreate,
  SubscriptionCreated,
  SubscriptionRead,
  SubscriptionUpdate,
  TokenRead,
} from "./types.js";

export const VERSION = "0.1.0";
const DEFAULT_TIMEOUT_MS = 10_000;
// Connection failures that happen before a request leaves: any request may be sent again.
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"]);

export interface ReferralClientOptions {
  /** Where Bozor runs, e.g. `https://bozor.example.com` (a trailing `/api/v1` is fine too). */
  baseUrl: string;
  /** An API key (`bozor apikey create ... --scope referrals`), sent as X-API-Key. */
  apiKey?: string;
  /** A bearer token from POST /api/v1/token, or a function giving a current one. */
  token?: string | (() => string | Promise<string>);
  /** With `apiKey`: exchange it for short-lived bearer tokens, renewed before they expire. */
  useToken?: boolean;
  /** Per request, in milliseconds (default 10 000). */
  timeoutMs?: number;
  /** Retries of calls that are safe to repeat; `false` for none. */
  retry?: Partial<RetryPolicy> | false;
  /** Another fetch (default: the platform's). */
  fetch?: typeof fetch;
}

export interface CallOptions {
  /** Your key for this business event (e.g. the sign-up's id); default a fresh UUID per call. */
  idempotencyKey?: string;
  /** Abort the call (and its retries). */
  signal?: AbortSignal;
}

export interface ClickOptions {
  /** The visitor's IP address (hashed by Bozor, never stored); default the caller's address. */
  ip?: string;
  /** The visitor's User-Agent; default the request's own. */
  userAgent?: string;
  referer?: string;
  /** utm_source, utm_medium, utm_campaign, utm_term, utm_content. */
  utm?: Record<string, string>;
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

interface Call {
  method: Method;
  path: string;
  body?: unknown;
  query?: Record<string, string | number | undefined | null>;
  /** Sending it twice does what sending it once does. */
  retrySafe: boolean;
  idempotencyKey?: string;
  /** Authenticated by the API key even in token mode (the token exchange itself). */
  keyOnly?: boolean;
  /** The answer's text as it is (CSV), not JSON. */
  text?: boolean;
  signal?: AbortSignal | undefined;
}

/** `template` with its `{name}` parts filled in, each encoded as one path segment. */
function fill<P extends ApiPath>(template: P, values: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new TypeError(`no value for {${name}} in ${template}`);
    return encodeURIComponent(String(value)).replace(/%3A/gi, ":").replace(/%40/g, "@");
  });
}

/** A referral code, or a link to read it from: the API takes a link as `referral_link`. */
function codeField(referralCode: string): { code: string } | { referral_link: string } {
  if (typeof referralCode !== "string" || referralCode === "") {
    throw new TypeError("referralCode must be a non-empty string (a code or a referral link)");
  }
  return /[/?]/.test(referralCode) ? { referral_link: referralCode } : { code: referralCode };
}

function sleep(seconds: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, seconds * 1000);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === "object"; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

async function apiError(response: Response): Promise<BozorApiError> {
  const text = await response.text();
  let problem: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) problem = parsed as Record<string, unknown>;
  } catch {
    // not JSON: a proxy's error page, say
  }
  const Kind = response.status >= 400 && response.status < 500 ? BozorClientError : BozorServerError;
  const detail = problem.detail ?? (text.slice(0, 200) || undefined);
  return new Kind({
    status: response.status,
    title: String(problem.title ?? (response.statusText || "Error")),
    detail: detail === undefined ? undefined : String(detail),
    code: problem.code ? String(problem.code) : undefined,
    type: String(problem.type ?? "about:blank"),
    retryAfter: parseRetryAfter(response.headers.get("Retry-After")),
    problem,
  });
}

export class ReferralClient {
  readonly baseUrl: string;
  /** The calls of the `admin` scope (an API key made with `--scope admin`). */
  readonly admin: AdminCalls;
  private readonly apiKey: string | undefined;
  private readonly token: ReferralClientOptions["token"];
  private readonly useToken: boolean;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly fetch: typeof fetch;
  private bearer: { token: string; renewAt: number } | undefined;

  constructor(options: ReferralClientOptions) {
    if (!options?.baseUrl) throw new TypeError("baseUrl is needed, e.g. https://bozor.example.com");
    if (!options.apiKey && !options.token) {
      throw new TypeError("apiKey or token is needed (bozor apikey create ...)");
    }
    if (options.useToken && !options.apiKey) throw new TypeError("useToken needs an apiKey");
    this.baseUrl = options.baseUrl.replace(/\/+$/, "").replace(/\/api\/v1$/, "");
    this.apiKey = options.apiKey;
    this.token = options.token;
    this.useToken = Boolean(options.useToken);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retry = options.retry === false ? { ...DEFAULT_RETRY, retries: 0 } : { ...DEFAULT_RETRY, ...options.retry };
    const platformFetch = options.fetch ?? globalThis.fetch;
    if (typeof platformFetch !== "function") throw new TypeError("no fetch here: pass options.fetch");
    this.fetch = platformFetch.bind(globalThis);
    this.admin = new AdminCalls(this);
  }

  // ---- the reference's calls --------------------------------------------------------------

  /** The referral link of a user (created on first use; the same link every time). */
  generateReferralLink(userId: string, options: { campaign?: string } & CallOptions = {}): Promise<LinkRead> {
    const body: LinkCreate = { user_id: userId, ...(options.campaign ? { campaign: options.campaign } : {}) };
    return this.send({ method: "POST", path: fill("/api/v1/generate-link"), body, retrySafe: true, signal: options.signal });
  }

  /** The reference's other name for generateReferralLink. */
  generateLink(userId: string, options: { campaign?: string } & CallOptions = {}): Promise<LinkRead> {
    return this.generateReferralLink(userId, options);
  }

  /** Record a click your own site received on a referral link (a code or the link itself).
   * Not retried once sent: each send would be another click. */
  trackClick(referralCode: string, click: ClickOptions & CallOptions = {}): Promise<ClickRead> {
    const body: Omit<ClickCreate, "code"> & ({ code: string } | { referral_link: string }) = {
      ...codeField(referralCode),
      ...(click.ip !== undefined ? { ip: click.ip } : {}),
      ...(click.userAgent !== undefined ? { user_agent: click.userAgent } : {}),
      ...(click.referer !== undefined ? { referer: click.referer } : {}),
      ...(click.utm ? { utm: click.utm } : {}),
    };
    return this.send({ method: "POST", path: fill("/api/v1/track-click"), body, retrySafe: false, signal: click.signal });
  }

  /** A user signed up through a code (or link): the rules are checked and the referral is
   * recorded once. Sent with an Idempotency-Key, so retries cannot record it twice. */
  processReferral(
    referralCode: string,
    newUserId: string,
    options: { clickId?: number } & CallOptions = {},
  ): Promise<ReferralResult> {
    return this.referral("/api/v1/process-referral", referralCode, newUserId, options);
  }

  /** The same as processReferral (the reference names both). */
  verifyReferral(
    referralCode: string,
    newUserId: string,
    options: { clickId?: number } & CallOptions = {},
  ): Promise<ReferralResult> {
    return this.referral("/api/v1/verify-referral", referralCode, newUserId, options);
  }

  /** Live figures of one referrer (`verified_referrals` is `confirmed`). */
  getReferralStats(userId: string, options: CallOptions = {}): Promise<StatsRead> {
    const path = fill("/api/v1/referral-stats/{user_id}", { user_id: userId });
    return this.send({ method: "GET", path, retrySafe: true, signal: options.signal });
  }

  /** What a user has earned (referral points, welcome bonus, Bronze/Silver/Gold tiers) and
   * their balance. */
  getRewards(userId: string, options: CallOptions = {}): Promise<RewardsRead> {
    const path = fill("/api/v1/rewards/{user_id}", { user_id: userId });
    return this.send({ method: "GET", path, retrySafe: true, signal: options.signal });
  }

  /** Claim a reward for its owner, once; its points join the user's balance. */
  async claimReward(userId: string, rewardId: number, options: CallOptions = {}): Promise<ClaimRead> {
    return this.send({
      method: "POST",
      path: fill("/api/v1/claim-reward"),
      body: { user_id: userId, reward_id: rewardId } satisfies ClaimCreate,
      retrySafe: true,
      idempotencyKey: options.idempotencyKey ?? (await randomId()),
      signal: options.signal,
    });
  }

  /** Exchange the API key for a short-lived bearer token (e.g. for a less trusted process). */
  createToken(options: CallOptions = {}): Promise<TokenRead> {
    return this.send({ method: "POST", path: fill("/api/v1/token"), retrySafe: true, keyOnly: true, signal: options.signal });
  }

  private async referral(
    path: "/api/v1/process-referral" | "/api/v1/verify-referral",
    referralCode: string,
    newUserId: string,
    options: { clickId?: number } & CallOptions,
  ): Promise<ReferralResult> {
    const body: Omit<ReferralCreate, "code"> & ({ code: string } | { referral_link: string }) = {
      ...codeField(referralCode),
      user_id: newUserId,
      ...(options.clickId !== undefined ? { click_id: options.clickId } : {}),
    };
    return this.send({
      method: "POST",
      path: fill(path),
      body,
      retrySafe: true,
      idempotencyKey: options.idempotencyKey ?? (await randomId()),
      signal: options.signal,
    });
  }

  // ---- sending ----------------------------------------------------------------------------

  /** @internal One logical call through its attempts. */
  async send<T>(call: Call): Promise<T> {
    let retries = 0;
    let tokenRenewed = false;
    for (;;) {
      const bearer = call.keyOnly ? undefined : await this.bearerToken(call.signal);
      let response: Response;
      try {
        response = await this.fetch(this.url(call), this.init(call, bearer));
      } catch (error) {
        if (call.signal?.aborted) throw call.signal.reason;
        const sent = !NOT_SENT.has(errorCode(error) ?? "");
        if ((call.retrySafe || !sent) && retries < this.retry.retries) {
          await sleep(backoffFor(this.retry, retries++), call.signal);
          continue;
        }
        const reason = error instanceof Error ? error.message : String(error);
        throw new BozorConnectionError(`${call.method} ${call.path}: ${reason}`, { cause: error });
      }
      if (response.ok) {
        if (call.text) return (await response.text()) as T;
        return (response.status === 204 ? undefined : await response.json()) as T;
      }
      if (response.status === 401 && bearer !== undefined && this.useToken && !tokenRenewed) {
        this.bearer = undefined; // expired early, or signed with a rotated secret: one new token
        tokenRenewed = true;
        await response.body?.cancel();
        continue;
      }
      if (RETRY_STATUSES.has(response.status) && call.retrySafe && retries < this.retry.retries) {
        const asked = parseRetryAfter(response.headers.get("Retry-After"));
        if (asked === undefined || asked <= this.retry.maxRetryAfter) {
          await response.body?.cancel();
          await sleep(asked ?? backoffFor(this.retry, retries), call.signal);
          retries++;
          continue;
        }
      }
      throw await apiError(response);
    }
  }

  private url(call: Call): string {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined && value !== null) query.set(name, String(value));
    }
    const search = query.toString();
    return `${this.baseUrl}${call.path}${search ? `?${search}` : ""}`;
  }

  private init(call: Call, bearer: string | undefined): RequestInit {
    const headers: Record<string, string> = { Accept: call.text ? "text/csv" : "application/json" };
    if (bearer !== undefined) headers.Authorization = `Bearer ${bearer}`;
    else if (this.apiKey) headers["X-API-Key"] = this.apiKey;
    if (call.idempotencyKey !== undefined) headers["Idempotency-Key"] = call.idempotencyKey;
    let body: string | undefined;
    if (call.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(call.body);
    }
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = call.signal ? anySignal([call.signal, timeout]) : timeout;
    return { method: call.method, headers, body, signal };
  }

  private async bearerToken(signal?: AbortSignal): Promise<string | undefined> {
    if (typeof this.token === "function") return await this.token();
    if (typeof this.token === "string") return this.token;
    if (!this.useToken) return undefined;
    if (this.bearer && Date.now() < this.bearer.renewAt) return this.bearer.token;
    const read = await this.createToken(signal ? { signal } : {});
    const margin = Math.min(60, read.expires_in / 10);
    this.bearer = { token: read.access_token, renewAt: Date.now() + (read.expires_in - margin) * 1000 };
    return read.access_token;
  }
}

/** An AbortSignal that aborts when any of `signals` does (AbortSignal.any is Node 20+). */
function anySignal(signals: AbortSignal[]): AbortSignal {
  const controller = new AbortController();
  for (const signal of signals) {
    if (signal.aborted) {
      controller.abort(signal.reason);
      break;
    }
    signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  }
  return controller.signal;
}

/** Administration: the reward programme, the review queue, campaigns and webhooks. */
export class AdminCalls {
  constructor(private readonly client: ReferralClient) {}

  /** The reward programme in force (amounts per referral, welcome bonus, tiers). */
  getRewardProgram(options: CallOptions = {}): Promise<ProgramSchema> {
    return this.client.send({ method: "GET", path: fill("/api/v1/admin/reward-program"), retrySafe: true, signal: options.signal });
  }

  /** Replace the programme, for referrals confirmed from now on. */
  setRewardProgram(program: ProgramSchema, options: CallOptions = {}): Promise<ProgramSchema> {
    const path = fill("/api/v1/admin/reward-program");
    return this.client.send({ method: "PUT", path, body: program, retrySafe: true, signal: options.signal });
  }

  /** Back to the server's REWARD_* settings. */
  resetRewardProgram(options: CallOptions = {}): Promise<ProgramSchema> {
    const path = fill("/api/v1/admin/reward-program");
    return this.client.send({ method: "DELETE", path, retrySafe: true, signal: options.signal });
  }

  /** One page of referrals, newest first (`status: "review"` is the review queue). */
  listReferrals(filter: ReferralFilter = {}, options: CallOptions = {}): Promise<ReferralPage> {
    const path = fill("/api/v1/admin/referrals");
    return this.client.send({ method: "GET", path, query: filter, retrySafe: true, signal: options.signal });
  }

  /** Every matching referral, page after page. */
  async *referrals(filter: Omit<ReferralFilter, "cursor"> = {}, options: CallOptions = {}): AsyncGenerator<ReferralRead> {
    let cursor: number | null | undefined;
    do {
      const page = await this.listReferrals({ ...filter, ...(cursor ? { cursor } : {}) }, options);
      yield* page.items;
      cursor = page.next_cursor;
    } while (cursor);
  }

  /** Every matching referral as CSV (id,referrer_id,referred_id,status,reason,source,campaign,...). */
  exportReferralsCsv(filter: Omit<ReferralFilter, "cursor" | "limit"> = {}, options: CallOptions = {}): Promise<string> {
    const path = fill("/api/v1/admin/referrals.csv");
    return this.client.send({ method: "GET", path, query: filter, retrySafe: true, text: true, signal: options.signal });
  }

  /** Confirm a referral that is pending or held for review; rewards follow. */
  approveReferral(referralId: number, options: CallOptions = {}): Promise<ReferralRead> {
    const path = fill("/api/v1/admin/referrals/{referral_id}/approve", { referral_id: referralId });
    return this.client.send({ method: "POST", path, retrySafe: false, signal: options.signal });
  }

  /** Reject a referral that is pending or held for review, saying why. */
  rejectReferral(referralId: number, reason: string, options: CallOptions = {}): Promise<ReferralRead> {
    const path = fill("/api/v1/admin/referrals/{referral_id}/reject", { referral_id: referralId });
    return this.client.send({ method: "POST", path, body: { reason } satisfies RejectCreate, retrySafe: false, signal: options.signal });
  }

  createCampaign(campaign: CampaignCreate, options: CallOptions = {}): Promise<CampaignRead> {
    const path = fill("/api/v1/admin/campaigns");
    return this.client.send({ method: "POST", path, body: campaign, retrySafe: false, signal: options.signal });
  }

  listCampaigns(options: CallOptions = {}): Promise<CampaignRead[]> {
    return this.client.send({ method: "GET", path: fill("/api/v1/admin/campaigns"), retrySafe: true, signal: options.signal });
  }

  /** A campaign with its figures (clicks, unique clicks, sign-ups, confirmed). */
  getCampaign(slug: string, options: CallOptions = {}): Promise<CampaignRead> {
    const path = fill("/api/v1/admin/campaigns/{slug}", { slug });
    return this.client.send({ method: "GET", path, retrySafe: true, signal: options.signal });
  }

  /** Rename, pause (`active: false`) or end a campaign. */
  updateCampaign(slug: string, changes: CampaignUpdate, options: CallOptions = {}): Promise<CampaignRead> {
    const path = fill("/api/v1/admin/campaigns/{slug}", { slug });
    return this.client.send({ method: "PATCH", path, body: changes, retrySafe: true, signal: options.signal });
  }

  /** Subscribe a URL to events; the answer's `secret` (shown only now) signs the deliveries. */
  createWebhook(subscription: SubscriptionCreate, options: CallOptions = {}): Promise<SubscriptionCreated> {
    const path = fill("/api/v1/admin/webhooks");
    return this.client.send({ method: "POST", path, body: subscription, retrySafe: false, signal: options.signal });
  }

  listWebhooks(options: CallOptions = {}): Promise<SubscriptionRead[]> {
    return this.client.send({ method: "GET", path: fill("/api/v1/admin/webhooks"), retrySafe: true, signal: options.signal });
  }

  getWebhook(subscriptionId: number, options: CallOptions = {}): Promise<SubscriptionRead> {
    const path = fill("/api/v1/admin/webhooks/{subscription_id}", { subscription_id: subscriptionId });
    return this.client.send({ method: "GET", path, retrySafe: true, signal: options.signal });
  }

  /** Change the URL or events, or pause (`active: false`). */
  updateWebhook(subscriptionId: number, changes: SubscriptionUpdate, options: CallOptions = {}): Promise<SubscriptionRead> {
    const path = fill("/api/v1/admin/webhooks/{subscription_id}", { subscription_id: subscriptionId });
    return this.client.send({ method: "PATCH", path, body: changes, retrySafe: true, signal: options.signal });
  }

  /** A new secret; for 24 hours deliveries carry the new and the old secret's signatures. */
  rotateWebhookSecret(subscriptionId: number, options: CallOptions = {}): Promise<SubscriptionCreated> {
    const path = fill("/api/v1/admin/webhooks/{subscription_id}/rotate-secret", { subscription_id: subscriptionId });
    return this.client.send({ method: "POST", path, retrySafe: false, signal: options.signal });
  }

  /** Remove the subscription and its delivery log. */
  async deleteWebhook(subscriptionId: number, options: CallOptions = {}): Promise<void> {
    const path = fill("/api/v1/admin/webhooks/{subscription_id}", { subscription_id: subscriptionId });
    await this.client.send({ method: "DELETE", path, retrySafe: true, signal: options.signal });
  }

  /** The latest deliveries, newest first, each with the log of its attempts. */
  listDeliveries(
    subscriptionId: number,
    query: { status?: DeliveryStatus; limit?: number } = {},
    options: CallOptions = {},
  ): Promise<DeliveryRead[]> {
    const path = fill("/api/v1/admin/webhooks/{subscription_id}/deliveries", { subscription_id: subscriptionId });
    return this.client.send({ method: "GET", path, query, retrySafe: true, signal: options.signal });
  }

  /** Send a delivery again. */
  async redeliver(subscriptionId: number, deliveryId: number, options: CallOptions = {}): Promise<void> {
    const path = fill("/api/v1/admin/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver", {
      subscription_id: subscriptionId,
      delivery_id: deliveryId,
    });
    await this.client.send({ method: "POST", path, retrySafe: false, signal: options.signal });
  }
}
