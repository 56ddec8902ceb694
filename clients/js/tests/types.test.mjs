// The client's types (src/openapi.ts) are what the running Bozor's /openapi.json says:
// after an API change, `npm run generate` (with BOZOR_URL) refreshes them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { CLIENT_PATHS, typesFor } from "../scripts/openapi.mjs";
import { BOZOR_URL, live } from "./live.mjs";

test("src/openapi.ts matches the served OpenAPI document", { skip: live }, async () => {
  const spec = await (await fetch(`${BOZOR_URL}/openapi.json`)).json();
  const committed = readFileSync(new URL("../src/openapi.ts", import.meta.url), "utf8");
  const served = await typesFor(spec);
  assert.ok(
    committed === served,
    "clients/js/src/openapi.ts is out of date with the API: run `BOZOR_URL=<a running Bozor> npm run generate` in clients/js (e.g. against `bozor demo`), then check the client still builds",
  );
});

test("every path the client calls is typed", () => {
  const committed = readFileSync(new URL("../src/openapi.ts", import.meta.url), "utf8");
  for (const path of CLIENT_PATHS) assert.ok(committed.includes(`"${path}": {`), path);
});

// Each call, the answer the client declares for it (src/client.ts), and what Bozor documents.
const CALLS = [
  ["generateReferralLink", "post", "/api/v1/generate-link", 200, "LinkRead"],
  ["trackClick", "post", "/api/v1/track-click", 201, "ClickRead"],
  ["processReferral", "post", "/api/v1/process-referral", 201, "ReferralResult"],
  ["verifyReferral", "post", "/api/v1/verify-referral", 201, "ReferralResult"],
  ["getReferralStats", "get", "/api/v1/referral-stats/{user_id}", 200, "StatsRead"],
  ["getRewards", "get", "/api/v1/rewards/{user_id}", 200, "RewardsRead"],
  ["claimReward", "post", "/api/v1/claim-reward", 200, "ClaimRead"],
  ["createToken", "post", "/api/v1/token", 200, "TokenRead"],
  ["admin.getRewardProgram", "get", "/api/v1/admin/reward-program", 200, "ProgramSchema"],
  ["admin.setRewardProgram", "put", "/api/v1/admin/reward-program", 200, "ProgramSchema"],
  ["admin.resetRewardProgram", "delete", "/api/v1/admin/reward-program", 200, "ProgramSchema"],
  ["admin.listReferrals", "get", "/api/v1/admin/referrals", 200, "ReferralPage"],
  ["admin.approveReferral", "post", "/api/v1/admin/referrals/{referral_id}/approve", 200, "ReferralRead"],
  ["admin.rejectReferral", "post", "/api/v1/admin/referrals/{referral_id}/reject", 200, "ReferralRead"],
  ["admin.createCampaign", "post", "/api/v1/admin/campaigns", 201, "CampaignRead"],
  ["admin.listCampaigns", "get", "/api/v1/admin/campaigns", 200, "CampaignRead[]"],
  ["admin.getCampaign", "get", "/api/v1/admin/campaigns/{slug}", 200, "CampaignRead"],
  ["admin.updateCampaign", "patch", "/api/v1/admin/campaigns/{slug}", 200, "CampaignRead"],
  ["admin.createWebhook", "post", "/api/v1/admin/webhooks", 201, "SubscriptionCreated"],
  ["admin.listWebhooks", "get", "/api/v1/admin/webhooks", 200, "SubscriptionRead[]"],
  ["admin.getWebhook", "get", "/api/v1/admin/webhooks/{subscription_id}", 200, "SubscriptionRead"],
  ["admin.updateWebhook", "patch", "/api/v1/admin/webhooks/{subscription_id}", 200, "SubscriptionRead"],
  ["admin.rotateWebhookSecret", "post", "/api/v1/admin/webhooks/{subscription_id}/rotate-secret", 200, "SubscriptionCreated"],
  ["admin.deleteWebhook", "delete", "/api/v1/admin/webhooks/{subscription_id}", 204, null],
  ["admin.listDeliveries", "get", "/api/v1/admin/webhooks/{subscription_id}/deliveries", 200, "DeliveryRead[]"],
  ["admin.redeliver", "post", "/api/v1/admin/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver", 202, undefined],
  ["admin.exportReferralsCsv", "get", "/api/v1/admin/referrals.csv", 200, undefined],
];

test("each call's declared answer is the one Bozor documents", { skip: live }, async () => {
  const { ReferralClient } = await import("bozor-referrals");
  const spec = await (await fetch(`${BOZOR_URL}/openapi.json`)).json();
  const client = new ReferralClient({ baseUrl: BOZOR_URL, apiKey: "k" });
  const named = (schema) =>
    schema?.$ref ? schema.$ref.split("/").pop() : schema?.type === "array" ? `${named(schema.items)}[]` : undefined;
  for (const [method, verb, path, status, answer] of CALLS) {
    const [owner, name] = method.includes(".") ? [client.admin, method.split(".")[1]] : [client, method];
    assert.equal(typeof owner[name], "function", method);
    const response = spec.paths[path]?.[verb]?.responses?.[String(status)];
    assert.ok(response, `${verb.toUpperCase()} ${path} answers ${status}`);
    if (answer !== undefined) assert.equal(named(response.content?.["application/json"]?.schema) ?? null, answer, method);
  }
  const covered = new Set(CALLS.map(([, , path]) => path));
  assert.deepEqual(CLIENT_PATHS.filter((path) => !covered.has(path)), []);
});
