// The console's names for the API's shapes. Every one comes from api-schema.d.ts, which
// `npm run gen:api-types` generates from the Worker's /openapi.json: change a shape in the Worker's
// contract, never here.
import type { components } from './api-schema.d.ts';

type Schemas = components['schemas'];

export type Agent = Schemas['Agent'];
export type AgentPage = Schemas['AgentList'];
export type AgentInput = Schemas['CreateAgent'];
export type TokenTrend = Schemas['TokenTrend'];
export type ActivityHeatmap = Schemas['ActivityHeatmap'];
export type AgentUsage = Schemas['AgentUsage'];
export type TierStatus = Schemas['TierStatus'];
export type TierName = TierStatus['tier'];
export type ComplianceReport = Schemas['ComplianceReport'];
export type ComplianceFinding = Schemas['ComplianceFinding'];
export type ChainVerification = Schemas['ChainVerification'];
export type Webhook = Schemas['Webhook'];
export type WebhookDelivery = Schemas['WebhookDelivery'];
