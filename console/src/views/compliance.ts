import type { ChainVerification, ComplianceFinding, ComplianceReport } from '../lib/api-types.ts';
import { h, replace } from '../lib/dom.ts';
import { formatNumber, formatUtc } from '../lib/format.ts';
import { badge, card, fill, type View } from './common.ts';

const STATUS_WORDS = { pass: 'Pass', warn: 'Warning', fail: 'Fail' } as const;
const SECTION_TITLES: Record<string, string> = { 'agent-identity': 'Agent identity', 'audit-trail': 'Audit trail' };

/** Compliance: the report's overall status, its sections and findings, and the audit chain check. */
export const complianceView: View = async (ctx, main) => {
  const report = h('div', {});
  const chain = h('div', {});
  replace(
    main,
    h('div', { class: 'view-head' }, h('h1', { tabindex: -1 }, 'Compliance')),
    h('div', {}, report),
    card('Audit chain', chain),
  );
  await Promise.all([
    fill(chain, ctx, 'audit chain verification', async () =>
      chainPanel(await ctx.api.get<ChainVerification>('/v1/audit/verify')),
    ),
    fill(report, ctx, 'compliance report', async () =>
      reportPanel(await ctx.api.get<ComplianceReport>('/v1/compliance/report')),
    ),
  ]);
};

function chainPanel(v: ChainVerification): Node {
  if (v.verified) {
    return h(
      'div',
      { class: 'chain chain-ok', 'data-verified': 'true' },
      h('p', {}, badge('pass', 'Verified'), ` The audit chain is intact up to event ${formatNumber(v.head_seq)}.`),
      h('p', { class: 'muted' }, `${formatNumber(v.checked)} events recomputed by this check.`),
    );
  }
  return h(
    'div',
    { class: 'chain chain-broken', 'data-verified': 'false', role: 'alert' },
    h(
      'p',
      {},
      badge('fail', 'Broken'),
      ` The audit chain breaks at event ${v.first_broken_seq ?? '?'}${v.reason ? ` (${v.reason.replaceAll('_', ' ')})` : ''}.`,
    ),
    h('p', { class: 'muted' }, 'Events from that point on cannot be trusted. Contact the operator of this deployment.'),
  );
}

function findingItem(f: ComplianceFinding): HTMLElement {
  return h(
    'li',
    { class: `finding finding-${f.severity}` },
    badge(
      f.severity === 'info' ? 'info' : f.severity,
      f.severity === 'fail' ? 'Fail' : f.severity === 'warn' ? 'Warning' : 'Info',
    ),
    ' ',
    h('span', {}, f.message),
    f.agent_id ? h('span', { class: 'muted' }, ' · agent ', h('code', {}, f.agent_id)) : null,
    h('span', { class: 'muted' }, ' · ', h('code', {}, f.code)),
  );
}

function reportPanel(r: ComplianceReport): Node {
  return h(
    'div',
    {},
    card(
      'Overall',
      h(
        'p',
        { class: 'overall', 'data-status': r.overall_status },
        badge(r.overall_status, STATUS_WORDS[r.overall_status]),
      ),
      h('p', { class: 'muted' }, `Generated ${formatUtc(r.generated_at)}${r.from_cache ? ' (cached)' : ''}.`),
    ),
    ...r.sections.map((s) =>
      card(
        SECTION_TITLES[s.name] ?? s.name,
        h('p', {}, badge(s.status, STATUS_WORDS[s.status])),
        s.findings.length
          ? h('ul', { class: 'findings' }, ...s.findings.map(findingItem))
          : h('p', { class: 'muted' }, 'No findings: nothing to do here.'),
      ),
    ),
  );
}
