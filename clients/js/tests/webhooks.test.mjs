// verifyWebhook: Bozor's signature scheme, with the vectors the Python client is checked
// against too; then a real delivery from Bozor, received by a server of the test's and verified.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { test } from "node:test";
import { WebhookVerificationError, signWebhook, verifyWebhook } from "bozor-referrals";
import { admin, client, eventually, live, uid } from "./live.mjs";

const { vectors } = JSON.parse(readFileSync(new URL("./webhook-vectors.json", import.meta.url), "utf8"));

for (const vector of vectors) {
  test(`vector: ${vector.name}`, async () => {
    const headers = { "x-bozor-timestamp": vector.timestamp, "x-bozor-signature": vector.signature };
    const options = { now: vector.now, ...(vector.tolerance !== undefined ? { tolerance: vector.tolerance } : {}) };
    const verify = () => verifyWebhook(vector.secret, headers, Buffer.from(vector.body, "utf8"), options);
    if (vector.error === null) {
      assert.deepEqual(await verify(), JSON.parse(vector.body));
      assert.ok(vector.signature.includes(await signWebhook(vector.secret, vector.body, vector.timestamp)));
    } else {
      await assert.rejects(verify, (error) => error instanceof WebhookVerificationError && error.message === vector.error);
    }
  });
}

test("headers from fetch, a string body, an ArrayBuffer", async () => {
  const body = '{"id":"1","type":"reward.granted","data":{}}';
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = await signWebhook("s3cret", body, timestamp);
  const headers = new Headers({ "X-Bozor-Timestamp": timestamp, "X-Bozor-Signature": signature });
  assert.equal((await verifyWebhook("s3cret", headers, body)).type, "reward.granted");
  const buffer = new TextEncoder().encode(body).buffer;
  assert.equal((await verifyWebhook("s3cret", { "X-BOZOR-TIMESTAMP": timestamp, "X-Bozor-Signature": [signature] }, buffer)).id, "1");
});

test("a delivery from Bozor, received and verified, also after a secret rotation", { skip: live }, async () => {
  const received = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const boss = admin();
  let subscription;
  try {
    subscription = await boss.createWebhook({
      url: `http://127.0.0.1:${server.address().port}/bozor-webhook`,
      events: ["referral.created"],
    });
    assert.match(subscription.secret, /^whsec_/);
    const bozor = client();
    const referrer = uid("wendy");
    const { code } = await bozor.generateReferralLink(referrer);

    const deliveryOf = async (referral) => {
      for (const { headers, body } of received) {
        const event = await verifyWebhook(subscription.secret, headers, body);
        if (event.data.referral.id === referral.id) return { event, headers };
      }
      return undefined;
    };
    const made = await bozor.processReferral(code, uid("xena"));
    const { event, headers } = await eventually(() => deliveryOf(made));
    assert.equal(event.type, "referral.created");
    assert.equal(event.data.referral.referrer_id, referrer);
    assert.equal(headers["x-bozor-event"], "referral.created");
    await assert.rejects(verifyWebhook("whsec_wrong", headers, received[0].body), WebhookVerificationError);

    // rotated: deliveries carry both signatures for a while; either secret verifies
    const rotated = await boss.rotateWebhookSecret(subscription.id);
    assert.notEqual(rotated.secret, subscription.secret);
    const next = await bozor.processReferral(code, uid("yuri"));
    const arrived = await eventually(async () => {
      for (const { headers, body } of received) {
        const event = await verifyWebhook(rotated.secret, headers, body).catch(() => undefined);
        if (event?.data.referral.id === next.id) return { headers, body };
      }
      return undefined;
    });
    assert.equal(arrived.headers["x-bozor-signature"].split(",").length, 2);
    assert.equal((await verifyWebhook(subscription.secret, arrived.headers, arrived.body)).data.referral.id, next.id);

    const deliveries = await boss.listDeliveries(subscription.id);
    assert.ok(deliveries.some((d) => d.status === "delivered"));
  } finally {
    if (subscription) await boss.deleteWebhook(subscription.id);
    server.close();
  }
});
