/** The domain events a webhook subscription can ask for (api.md). */
export const WEBHOOK_EVENT_TYPES = [
  'agent.created',
  'agent.updated',
  'agent.decommissioned',
  'credential.created',
  'credential.revoked',
  'tier.upgraded',
  'subscription.updated',
  'delegation.created',
  'delegation.revoked',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const isWebhookEventType = (v: unknown): v is WebhookEventType =>
  typeof v === 'string' && (WEBHOOK_EVENT_TYPES as readonly string[]).includes(v);

/** A subscription whose attempts have all failed for this long is disabled. */
export const WEBHOOK_DISABLE_AFTER_MS = 5 * 86_400_000;

/** How long the previous secret keeps signing after a rotation. */
export const WEBHOOK_SECRET_OVERLAP_MS = 86_400_000;
