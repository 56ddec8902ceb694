// Retries, against a real Bozor behind a proxy of the test's that fails when told to: 429 and
// 5xx sent again with back-off, Retry-After honoured, Idempotency-Key making a retried
// referral count once, and what is not safe to repeat not repeated.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import { BozorServerError, ReferralClient } from "bozor-referrals";
import { API_KEY, BOZOR_URL, live, uid } from "./live.mjs";

/** Forwards to Bozor; `plan` says, request by request, what to do instead. */
const proxy = {
  plan: [],
  seen: [],
  server: undefined,
  url: "",
};

async function forward(req, body) {
  const headers = { ...req.headers };
  delete headers.host;
  delete headers["content-length"];
  return fetch(`${BOZOR_URL}${req.url}`, { method: req.method, headers, body: body.length ? body : undefined });
}

before(async () => {
  if (live) return;
  proxy.server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    proxy.seen.push({ method: req.method, url: req.url, headers: req.headers, at: Date.now() });
    const step = proxy.plan.shift() ?? "pass";
    if (step === "pass" || step === "lose") {
      const answer = await forward(req, body);
      const text = await answer.text();
      if (step === "lose") {
        // Bozor did the work; its answer is lost on the way back
        res.writeHead(502, { "content-type": "text/plain" }).end("bad gateway");
        return;
      }
      const headers = {};
      answer.headers.forEach((value, name) => {
        if (name !== "content-length" && name !== "transfer-encoding") headers[name] = value;
      });
      res.writeHead(answer.status, headers).end(text);
      return;
    }
    const [status, retryAfter] = step;
    const headers = { "content-type": "application/problem+json" };
    if (retryAfter !== undefined) headers["retry-after"] = String(retryAfter);
    res.writeHead(status, headers).end(JSON.stringify({ type: "about:blank", title: "Busy", status, detail: "Later.", code: "test.busy" }));
  });
  await new Promise((resolve) => proxy.server.listen(0, "127.0.0.1", resolve));
  proxy.url = `http://127.0.0.1:${proxy.server.address().port}`;
});

after(() => proxy.server?.close());

function through(plan, retry = { backoff: 0.01 }) {
  proxy.plan = [...plan];
  proxy.seen = [];
  return new ReferralClient({ baseUrl: proxy.url, apiKey: API_KEY, retry });
}

test("429 and 503 are sent again, after what Retry-After asks", { skip: live }, async () => {
  const bozor = through([[429, 1], [503], "pass"]);
  const user = uid("rita");
  const link = await bozor.generateReferralLink(user);
  assert.equal(link.user_id, user);
  assert.equal(proxy.seen.length, 3);
  const waited = proxy.seen[1].at - proxy.seen[0].at;
  assert.ok(waited >= 950, `waited ${waited} ms for Retry-After: 1`);
});

test("a Retry-After longer than the client waits is the caller's to schedule", { skip: live }, async () => {
  const bozor = through([[429, 3600]]);
  const error = await bozor.getRewards(uid("x")).catch((e) => e);
  assert.equal(error.status, 429);
  assert.equal(error.retryAfter, 3600);
  assert.equal(error.code, "test.busy");
  assert.equal(proxy.seen.length, 1);
});

test("retries give up after the policy's number", { skip: live }, async () => {
  const bozor = through([[503], [503], [503]], { retries: 2, backoff: 0.01 });
  const error = await bozor.getRewards(uid("x")).catch((e) => e);
  assert.ok(error instanceof BozorServerError);
  assert.equal(error.status, 503);
  assert.equal(proxy.seen.length, 3);
});

test("a referral whose answer was lost is sent again with its key, and counts once", { skip: live }, async () => {
  const direct = new ReferralClient({ baseUrl: BOZOR_URL, apiKey: API_KEY });
  const referrer = uid("sam");
  const { code } = await direct.generateReferralLink(referrer);
  const bozor = through(["lose", "pass"]);
  const newcomer = uid("tom");
  const made = await bozor.processReferral(code, newcomer);
  assert.equal(made.referred_id, newcomer);
  assert.equal(proxy.seen.length, 2);
  const [first, second] = proxy.seen.map((request) => request.headers["idempotency-key"]);
  assert.ok(first && first === second, "the same Idempotency-Key on the retry");
  assert.equal((await direct.getReferralStats(referrer)).invited, 1);
  // and a key of the caller's own, across calls (e.g. after the caller's own crash)
  through([]);
  const again = await bozor.processReferral(code, newcomer, { idempotencyKey: `signup-${newcomer}` }).catch((e) => e);
  assert.equal(again.status, 409, "a new key: the rules say it is a repeat");
  const key = `signup-${uid("k")}`;
  const other = uid("uma");
  const once = await bozor.processReferral(code, other, { idempotencyKey: key });
  const twice = await bozor.processReferral(code, other, { idempotencyKey: key });
  assert.deepEqual(twice, once, "the stored answer, replayed");
});

test("a click is not sent twice, nor a 500 retried", { skip: live }, async () => {
  const { code } = await new ReferralClient({ baseUrl: BOZOR_URL, apiKey: API_KEY }).generateReferralLink(uid("vic"));
  const bozor = through([[503]]);
  await assert.rejects(bozor.trackClick(code, { ip: "1.2.3.4" }), { status: 503 });
  assert.equal(proxy.seen.length, 1);
  through([[500]]);
  await assert.rejects(bozor.getRewards(uid("x")), { status: 500 });
  assert.equal(proxy.seen.length, 1);
});
