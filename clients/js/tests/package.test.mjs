// The package as published: ES module and CommonJS halves with the same exports, and types.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import * as esm from "bozor-referrals";

test("import and require give the same API", () => {
  const cjs = createRequire(import.meta.url)("bozor-referrals");
  assert.deepEqual(Object.keys(cjs).sort(), Object.keys(esm).sort());
  for (const name of ["ReferralClient", "verifyWebhook", "signWebhook", "BozorApiError", "WebhookVerificationError"]) {
    assert.equal(typeof esm[name], "function", name);
  }
  for (const types of ["../dist/esm/index.d.ts", "../dist/cjs/index.d.ts"]) {
    assert.ok(existsSync(new URL(types, import.meta.url)), types);
  }
});
