// Errors from a real Bozor arrive as typed errors carrying the problem's code.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import {
  BozorApiError,
  BozorClientError,
  BozorConnectionError,
  ReferralClient,
} from "bozor-referrals";
import { ADMIN_KEY, BOZOR_URL, client, live, uid } from "./live.mjs";

test("problems carry status, code and detail", { skip: live }, async () => {
  const bozor = client();
  const unknown = await bozor.processReferral("ZZZZZZZZZZ", uid("bob")).catch((e) => e);
  assert.ok(unknown instanceof BozorClientError && unknown instanceof BozorApiError);
  assert.equal(unknown.status, 422);
  assert.equal(unknown.code, "referral.unknown");
  assert.ok(unknown.detail);
  assert.equal(unknown.isClientError, true);

  const nobody = await bozor.getReferralStats(uid("nobody")).catch((e) => e);
  assert.equal(nobody.status, 404);

  const { code } = await bozor.generateReferralLink(uid("ann"));
  const newcomer = uid("ben");
  await bozor.processReferral(code, newcomer);
  await assert.rejects(bozor.verifyReferral(code, newcomer), { status: 409, code: "referral.already" });
});

test("an invalid request lists what is wrong", { skip: live }, async () => {
  const error = await client().generateReferralLink("has space").catch((e) => e);
  assert.equal(error.status, 422);
  assert.equal(error.code, "request.invalid");
  assert.ok(error.errors.some((e) => e.location.includes("user_id")), JSON.stringify(error.errors));
});

test("bad credentials and a missing scope", { skip: live }, async () => {
  await assert.rejects(client({ apiKey: "bzr_forged" }).getRewards("x"), { status: 401 });
  await assert.rejects(client({ apiKey: ADMIN_KEY }).getRewards("x"), { status: 403 });
  await assert.rejects(client().admin.listCampaigns(), { status: 403 });
});

test("no server at all: a connection error, after retries", async () => {
  const port = await new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
  let calls = 0;
  const counting = (...args) => {
    calls++;
    return fetch(...args);
  };
  const bozor = new ReferralClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: "k", fetch: counting, retry: { backoff: 0.001 } });
  await assert.rejects(bozor.getRewards("x"), BozorConnectionError);
  assert.equal(calls, 4, "the first send and three retries");
  calls = 0;
  // refused: the click never left, so even a click is sent again
  await assert.rejects(bozor.trackClick("abcdefgh", { ip: "1.2.3.4" }), BozorConnectionError);
  assert.equal(calls, 4);
});

test("the constructor says what is missing", () => {
  assert.throws(() => new ReferralClient({ apiKey: "k" }), /baseUrl/);
  assert.throws(() => new ReferralClient({ baseUrl: "http://x" }), /apiKey or token/);
  assert.equal(new ReferralClient({ baseUrl: "http://x/api/v1/", apiKey: "k" }).baseUrl, "http://x");
  void BOZOR_URL;
});
