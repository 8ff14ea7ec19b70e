// The shapes of the public API responses the console reads (see /openapi.json; only the fields used here).

export type AgentStatus = 'active' | 'suspended' | 'decommissioned';

export interface Agent {
  agent_id: string;
  email: string;
  owner: string;
  agent_type: string;
  capabilities: string[];
  endpoint: string | null;
  version: string | null;
  deployment_env: string | null;
  status: AgentStatus;
  did: string | null;
  created_at: string;
}

export interface AgentPage {
  data: Agent[];
  next_cursor: string | null;
}

export interface AgentInput {
  email: string;
  owner: string;
  agent_type: string;
  capabilities: string[];
  endpoint?: string;
  deployment_env?: string;
}

export interface TokenTrend {
  days: number;
  series: Array<{ date: string; count: number }>;
}

export interface ActivityHeatmap {
  cells: Array<{ day_of_week: number; hour: number; count: number }>;
}

export interface AgentUsage {
  month: string;
  agents: Array<{ agent_id: string; name: string; token_count: number }>;
}

export type TierName = 'free' | 'pro' | 'enterprise';

export interface TierStatus {
  tier: TierName;
  limits: { max_agents: number | null; max_calls_per_day: number | null; max_tokens_per_day: number | null };
  usage: { agents: number; calls_today: number; tokens_today: number };
  reset_at: string;
}

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface ComplianceFinding {
  severity: 'fail' | 'warn' | 'info';
  code: string;
  message: string;
  agent_id?: string;
  credential_id?: string;
  seq?: number;
}

export interface ComplianceReport {
  generated_at: string;
  overall_status: CheckStatus;
  from_cache: boolean;
  sections: Array<{ name: string; status: CheckStatus; findings: ComplianceFinding[] }>;
}

export interface ChainVerification {
  verified: boolean;
  checked: number;
  first_broken_seq: number | null;
  reason: string | null;
  head_seq: number;
}

export interface Webhook {
  id: string;
  name: string;
  url: string;
  events: string[];
  active: boolean;
  failure_count: number;
  disabled_reason: string | null;
  created_at: string;
}

export interface WebhookDelivery {
  id: string;
  event_type: string;
  status: 'pending' | 'delivered' | 'failed' | 'dead_letter';
  http_status_code: number | null;
  attempt_count: number;
  next_retry_at: string | null;
  delivered_at: string | null;
  last_error: string | null;
  created_at: string;
}
