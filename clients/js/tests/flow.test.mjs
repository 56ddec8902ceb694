// The reference's whole flow through the client, against a real Bozor: link, click,
// referral, stats, the Bronze/Silver/Gold tiers, rewards, claim; and the admin calls.
import assert from "node:assert/strict";
import { test } from "node:test";
import { admin, client, live, uid } from "./live.mjs";

test("link, click, referral, stats, tiers, rewards and claim", { skip: live }, async () => {
  const bozor = client();
  const alice = uid("alice");

  const link = await bozor.generateReferralLink(alice);
  assert.equal(link.user_id, alice);
  assert.match(link.code, /^[A-Za-z0-9]{6,32}$/);
  assert.equal(link.referral_link, link.web_link);
  assert.equal(link.telegram_link.endsWith(`?start=${link.code}`), true);
  assert.equal((await bozor.generateLink(alice)).code, link.code, "one link per user");

  const click = await bozor.trackClick(link.code, { ip: "203.0.113.7", userAgent: "Mozilla/5.0 (X11)" });
  assert.equal(click.counted, true);
  const preview = await bozor.trackClick(link.web_link, { ip: "203.0.113.8", userAgent: "TelegramBot (like TwitterBot)" });
  assert.equal(preview.counted, false, "a link preview is recorded, not counted");

  const first = await bozor.processReferral(link.code, uid("friend"), { clickId: click.click_id });
  assert.equal(first.referrer_id, alice);
  assert.equal(first.status, "confirmed");
  // the other name, and a link where a code is
  const second = await bozor.verifyReferral(link.telegram_link, uid("friend"));
  assert.equal(second.referrer_id, alice);
  for (let i = 2; i < 20; i++) await bozor.processReferral(link.code, uid("friend"));

  const stats = await bozor.getReferralStats(alice);
  assert.equal(stats.confirmed, 20);
  assert.equal(stats.verified_referrals, 20);
  assert.equal(stats.invited, 20);
  assert.equal(stats.clicks, 1);
  assert.equal(stats.bot_clicks, 1);

  const { rewards, balance } = await bozor.getRewards(alice);
  assert.equal(balance, 0, "nothing claimed yet");
  const tiers = rewards.filter((reward) => reward.kind === "tier").map((reward) => [reward.title, reward.amount]);
  assert.deepEqual(tiers.sort(), [["Bronze", 50], ["Gold", 500], ["Silver", 150]]);
  assert.equal(rewards.filter((reward) => reward.kind === "referral").length, 20);

  const gold = rewards.find((reward) => reward.title === "Gold");
  const claim = await bozor.claimReward(alice, gold.id);
  assert.equal(claim.reward.status, "claimed");
  assert.equal(claim.balance, 500);
  await assert.rejects(bozor.claimReward(alice, gold.id), (error) => error.status === 409);
  const after = await bozor.getRewards(alice);
  assert.equal(after.balance, 500);
  assert.equal((await bozor.getReferralStats(alice)).rewards_claimed, 500);
});

test("a token instead of the key", { skip: live }, async () => {
  const issued = await client().createToken();
  assert.equal(issued.token_type, "bearer");
  const withToken = client({ apiKey: undefined, token: issued.access_token });
  assert.equal((await withToken.generateReferralLink(uid("t"))).success, true);
  const exchanging = client({ useToken: true });
  const user = uid("t");
  assert.equal((await exchanging.generateReferralLink(user)).user_id, user);
  assert.equal((await exchanging.getReferralStats(user)).invited, 0);
});

test("admin: the review queue, approve and reject, listing and CSV", { skip: live }, async () => {
  const bozor = client();
  const boss = admin();
  const carol = uid("carol");
  const { code } = await bozor.generateReferralLink(carol);
  // one visitor signing up again and again: the fourth is held for review (VELOCITY_PER_VISITOR 3)
  const click = await bozor.trackClick(code, { ip: "198.51.100.1", userAgent: "Mozilla/5.0" });
  const made = [];
  for (let i = 0; i < 5; i++) made.push(await bozor.processReferral(code, uid("same"), { clickId: click.click_id }));
  assert.deepEqual(made.map((r) => r.status), ["confirmed", "confirmed", "confirmed", "review", "review"]);

  const queue = await boss.listReferrals({ status: "review", referrer_id: carol });
  assert.deepEqual(queue.items.map((r) => r.id).sort(), [made[3].id, made[4].id].sort());
  assert.equal((await boss.approveReferral(made[3].id)).status, "confirmed");
  const rejected = await boss.rejectReferral(made[4].id, "same device");
  assert.equal(rejected.status, "rejected");
  assert.equal(rejected.reason, "same device");
  await assert.rejects(boss.approveReferral(made[4].id), { code: "referral.already_decided", status: 409 });

  const all = [];
  for await (const referral of boss.referrals({ referrer_id: carol, limit: 2 })) all.push(referral.id);
  assert.deepEqual(all, made.map((r) => r.id).reverse(), "every page, newest first");
  const csv = await boss.exportReferralsCsv({ referrer_id: carol });
  assert.equal(csv.trim().split("\n").length, 6);
  assert.match(csv, /^id,referrer_id,referred_id,status/);
  assert.equal((await bozor.getReferralStats(carol)).confirmed, 4);
});

test("admin: campaigns", { skip: live }, async () => {
  const boss = admin();
  const slug = uid("spring").toLowerCase();
  const created = await boss.createCampaign({ slug, name: "Spring" });
  assert.equal(created.active, true);
  const link = await client().generateReferralLink(uid("dan"), { campaign: slug });
  assert.equal(link.campaign, slug);
  await client().trackClick(link.code, { ip: "192.0.2.1", userAgent: "Mozilla/5.0" });
  await client().processReferral(link.code, uid("erin"));
  const figures = await boss.getCampaign(slug);
  assert.equal(figures.signups, 1);
  assert.equal(figures.clicks, 1);
  assert.equal((await boss.updateCampaign(slug, { active: false })).active, false);
  assert.ok((await boss.listCampaigns()).some((c) => c.slug === slug));
  await assert.rejects(client().generateReferralLink(uid("x"), { campaign: slug }), { status: 409, code: "campaign.inactive" });
});

test("admin: the reward programme", { skip: live }, async () => {
  const boss = admin();
  const standard = await boss.getRewardProgram();
  assert.deepEqual(standard.tiers.map((t) => t.name), ["Bronze", "Silver", "Gold"]);
  try {
    const changed = await boss.setRewardProgram({ per_referral: 20, welcome: 5, tiers: [{ name: "Bronze", threshold: 1, amount: 7 }] });
    assert.equal(changed.per_referral, 20);
    const frank = uid("frank");
    const { code } = await client().generateReferralLink(frank);
    const newcomer = uid("gina");
    await client().processReferral(code, newcomer);
    const { rewards } = await client().getRewards(frank);
    assert.deepEqual(rewards.map((r) => [r.kind, r.amount]).sort(), [["referral", 20], ["tier", 7]]);
    assert.equal((await client().getRewards(newcomer)).rewards[0].amount, 5, "the welcome bonus");
  } finally {
    assert.deepEqual(await boss.resetRewardProgram(), standard);
  }
});
