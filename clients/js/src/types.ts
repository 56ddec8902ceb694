/** The API's shapes, from the generated OpenAPI types (src/openapi.ts). */

import type { components, paths } from "./openapi.js";

type Schemas = components["schemas"];

export type Problem = Schemas["Problem"];
export type LinkCreate = Schemas["LinkCreate"];
export type ClickCreate = Schemas["ClickCreate"];
export type ReferralCreate = Schemas["ReferralCreate"];
export type ClaimCreate = Schemas["ClaimCreate"];
export type RejectCreate = Schemas["RejectCreate"];
export type LinkRead = Schemas["LinkRead"];
export type ClickRead = Schemas["ClickRead"];
export type ReferralRead = Schemas["ReferralRead"];
export type ReferralResult = Schemas["ReferralResult"];
export type ReferralPage = Schemas["ReferralPage"];
export type StatsRead = Schemas["StatsRead"];
export type RewardRead = Schemas["RewardRead"];
export type RewardsRead = Schemas["RewardsRead"];
export type ClaimRead = Schemas["ClaimRead"];
export type TokenRead = Schemas["TokenRead"];
export type ProgramSchema = Schemas["ProgramSchema"];
export type TierSchema = Schemas["TierSchema"];
export type CampaignCreate = Schemas["CampaignCreate"];
export type CampaignUpdate = Schemas["CampaignUpdate"];
export type CampaignRead = Schemas["CampaignRead"];
export type SubscriptionCreate = Schemas["SubscriptionCreate"];
export type SubscriptionUpdate = Schemas["SubscriptionUpdate"];
export type SubscriptionRead = Schemas["SubscriptionRead"];
export type SubscriptionCreated = Schemas["SubscriptionCreated"];
export type DeliveryRead = Schemas["DeliveryRead"];
export type ReferralStatus = ReferralRead["status"];
export type RewardStatus = RewardRead["status"];
export type DeliveryStatus = DeliveryRead["status"];
export type WebhookEventName = SubscriptionCreate["events"][number];

/** Every path the client may call: a path missing from the served API fails type-checking. */
export type ApiPath = keyof paths;

/** Filters of the admin referral list and CSV export. */
export type ReferralFilter = NonNullable<
  paths["/api/v1/admin/referrals"]["get"]["parameters"]["query"]
>;

/** The body of a webhook delivery (see docs/api.md, "Webhooks"). */
export interface WebhookEvent<T = Record<string, unknown>> {
  id: string;
  type: Exclude<WebhookEventName, "*">;
  created_at: string;
  data: T;
}
