/**
 * views/health.js — the pipeline health panel from GET /api/netflow/status: one row per hop
 * (name, role, up, received/decoded/forwarded with their units, drops by reason with the
 * non-zero ones highlighted, writer lag, health) and both tiers' freshness.
 */
import { h, panel, emptyState } from '../dom.js';
import { formatCount, formatDuration, formatTime, toBigInt } from '../format.js';

/**
 * @param {object} ctx
 * @param {ReturnType<import('../api.js').createApi>} ctx.api
 * @param {{error: (e: unknown) => void, clear: () => void}} ctx.banner
 */
export function createHealthView(ctx) {
  let generation = 0;
  const backend = h('span', { class: 'backend', 'data-testid': 'backend-info', 'data-backend': 'status' });
  const summary = h('p', { class: 'summary' });
  const pHops = panel('Pipeline hops', [], 'wide');
  const pTiers = panel('Storage tiers', [], 'wide');
  const el = h('div', { class: 'view view-health' },
    h('h1', { class: 'sr-only', text: 'Pipeline health' }),
    h('div', { class: 'toolbar' }, summary, backend),
    h('div', { class: 'grid' }, pHops.el, pTiers.el));

  /** @param {unknown} v @param {string|undefined} unit */
  const counter = (v, unit) => (v === undefined ? '—' : h('span', { 'data-value': String(v) }, formatCount(/** @type {any} */ (v)), h('span', { class: 'unit', text: unit ? ` ${unit}` : '' })));

  /** @param {any} hop */
  function hopRow(hop) {
    const drops = Object.entries(hop.dropped ?? {});
    const nonzero = drops.filter(([, v]) => toBigInt(/** @type {any} */ (v)) !== 0n);
    const dropCell = hop.up === false ? h('span', { class: 'bad', text: hop.error ?? 'down' })
      : drops.length === 0 ? h('span', { class: 'muted', text: 'none counted' })
        : h('details', {},
          h('summary', { class: nonzero.length ? 'bad' : 'muted', text: nonzero.length ? `${nonzero.length} reason${nonzero.length === 1 ? '' : 's'} non-zero` : `0 (${drops.length} reason${drops.length === 1 ? '' : 's'})` }),
          h('ul', { class: 'drops' }, ...drops.map(([k, v]) =>
            h('li', { class: toBigInt(/** @type {any} */ (v)) !== 0n ? 'bad' : 'muted', 'data-reason': k, 'data-value': String(v) }, `${k}: ${formatCount(/** @type {any} */ (v))}`))));
    if (nonzero.length) /** @type {HTMLElement} */ (dropCell).setAttribute('open', '');
    const lag = hop.lag ? `${formatCount(hop.lag.pending_messages)} pending, ${formatCount(hop.lag.ack_pending)} unacked` : '—';
    const healthy = hop.up === false ? 'down' : hop.healthy === undefined ? 'up' : hop.healthy ? 'healthy' : 'unhealthy';
    return h('tr', { 'data-testid': 'health-row', 'data-name': hop.name, 'data-up': String(hop.up === true), class: hop.up ? '' : 'row-bad' },
      h('th', { scope: 'row', text: hop.name }),
      h('td', { text: hop.role }),
      h('td', { class: hop.up ? 'good' : 'bad', text: hop.up ? 'up' : 'down' }),
      h('td', { class: 'num' }, counter(hop.received, hop.units?.received)),
      h('td', { class: 'num' }, counter(hop.decoded, hop.units?.decoded)),
      h('td', { class: 'num' }, counter(hop.forwarded, hop.units?.forwarded)),
      h('td', {}, dropCell),
      h('td', { class: 'num', 'data-lag': hop.lag ? String(hop.lag.pending_messages) : '' }, lag),
      h('td', { class: healthy === 'healthy' || healthy === 'up' ? 'good' : 'bad', text: healthy }));
  }

  /** @param {string} id @param {string} name @param {any} t @param {string} timeKey */
  function tier(id, name, t, timeKey) {
    const when = t[timeKey];
    return h('div', { class: `tier ${t.up ? '' : 'row-bad'}`, 'data-testid': `health-tier-${id}`, 'data-up': String(t.up === true), 'data-behind': t.behind_seconds ?? '' },
      h('h3', { text: name }),
      h('p', { class: t.up ? 'good' : 'bad', text: t.up ? 'up' : `down: ${t.error ?? 'unknown'}` }),
      h('p', { text: when ? `newest: ${formatTime(when)} (${formatDuration(t.behind_seconds)} behind)` : (t.up ? 'no data yet' : '') }),
      t.snapshot_id !== undefined && t.snapshot_id !== null ? h('p', { class: 'muted', text: `snapshot ${t.snapshot_id}` }) : null);
  }

  async function refresh() {
    const gen = ++generation;
    const t0 = performance.now();
    let st;
    try {
      st = await ctx.api.get('/api/netflow/status');
    } catch (e) {
      if (gen === generation) ctx.banner.error(e);
      return;
    }
    if (gen !== generation) return;
    ctx.banner.clear();
    backend.textContent = `status · ${Math.round(performance.now() - t0)} ms · ${formatTime(st.generated_at)}`;
    const hops = Array.isArray(st.hops) ? st.hops : [];
    const down = hops.filter((x) => !x.up).map((x) => x.name);
    summary.replaceChildren(h('span', { 'data-value': String(st.dropped_total), class: toBigInt(st.dropped_total) !== 0n ? 'bad' : 'good' },
      `Dropped in total: ${formatCount(st.dropped_total)}`), down.length ? h('span', { class: 'bad', text: ` · down: ${down.join(', ')}` }) : ' · every hop up');
    pHops.body.replaceChildren(hops.length === 0 ? emptyState('No status sources are configured (status.sources in core.json).') :
      h('div', { class: 'scroll' }, h('table', { class: 'data', 'data-testid': 'table-health' },
        h('caption', { class: 'sr-only', text: 'Pipeline hops' }),
        h('thead', {}, h('tr', {}, ...['Hop', 'Role', 'Up', 'Received', 'Decoded', 'Forwarded', 'Dropped by reason', 'Writer lag', 'Health']
          .map((x, i) => h('th', { scope: 'col', class: i >= 3 && i <= 5 ? 'num' : undefined, text: x })))),
        h('tbody', {}, ...hops.map(hopRow)))));
    pTiers.body.replaceChildren(h('div', { class: 'tiers' },
      tier('clickhouse', 'Hot tier (ClickHouse)', st.tiers?.clickhouse ?? { up: false }, 'latest'),
      tier('iceberg', 'Cold tier (Iceberg)', st.tiers?.iceberg ?? { up: false }, 'last_commit')));
  }

  return { el, refresh, syncControls: () => {} };
}
