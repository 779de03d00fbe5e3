// The Isthmus dashboard: plain JS, no build step, talks only to the gateway that served it.
// The status arrives over Server-Sent Events (/api/v1/events) whenever it changes; the other views (exports,
// imports, pools, plan, policy hits) are fetched again when the status says they changed, and every few seconds.
// Every value from the API is written with textContent or SVG attributes, never parsed as HTML.
'use strict';

(function () {
  const SVG = 'http://www.w3.org/2000/svg';
  const AUX_REFRESH_MS = 5000;     // pools, plan and metrics change without the status saying so
  const MAX_POOLS_WITH_RECLAIMS = 20;
  const MAX_RECLAIMS_SHOWN = 50;
  const RETRY_MIN_MS = 2000;
  const RETRY_MAX_MS = 30000;

  const state = {
    status: null,
    plan: null,
    auxKey: null,
    auxInFlight: false,
    auxPending: false,
    auxAt: 0,
    tunnelSamples: new Map(), // cluster -> {at, sent, received}
    retryMs: RETRY_MIN_MS,
    source: null,
  };

  const $ = (id) => document.getElementById(id);

  /** Fills {@code node} with attributes and children; every child that is not a node becomes text, never HTML. */
  function fill(node, attrs, children) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) node.setAttribute(k, String(v));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function el(tag, attrs, ...children) {
    return fill(document.createElement(tag), attrs, children);
  }

  function svg(tag, attrs, ...children) {
    return fill(document.createElementNS(SVG, tag), attrs, children);
  }

  /** A table, or a line saying there is nothing, into container {@code id}. */
  function table(id, headers, rows, empty) {
    const box = $(id);
    if (rows.length === 0) {
      box.replaceChildren(el('p', { class: 'muted empty' }, empty));
      return;
    }
    const head = el('tr', {}, ...headers.map((h) => el('th', {}, h)));
    const body = rows.map((row) => {
      const tr = el('tr', row.attrs || {});
      for (const cell of row.cells) tr.append(cell instanceof Node ? el('td', {}, cell) : el('td', {}, cell ?? ''));
      return tr;
    });
    box.replaceChildren(el('table', { id: id + '-table' }, el('thead', {}, head), el('tbody', {}, ...body)));
  }

  function problem(id, message) {
    $(id).replaceChildren(el('p', { class: 'problem' }, message));
  }

  function since(iso) {
    if (!iso) return '';
    const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (Number.isNaN(seconds)) return iso;
    if (seconds < 120) return seconds + ' s ago';
    if (seconds < 7200) return Math.round(seconds / 60) + ' min ago';
    return Math.round(seconds / 3600) + ' h ago';
  }

  function bytes(n) {
    if (n === null || n === undefined) return '';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let value = Number(n);
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return (unit === 0 ? value.toFixed(0) : value.toFixed(1)) + ' ' + units[unit];
  }

  function plural(n, word) {
    return n + ' ' + word + (n === 1 ? '' : 's');
  }

  async function getJson(path) {
    const response = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store',
      credentials: 'same-origin' });
    const text = await response.text();
    if (!response.ok) {
      let why = text.trim();
      try { why = JSON.parse(text).error || why; } catch (e) { /* not JSON: keep the text */ }
      throw new Error(path + ' answered HTTP ' + response.status + (why ? ': ' + why : ''));
    }
    return JSON.parse(text);
  }

  // ---- live status -----------------------------------------------------------------------------------------

  function setLive(kind, text) {
    const live = $('live');
    live.dataset.live = kind;
    live.textContent = text;
  }

  function connect() {
    const source = new EventSource('/api/v1/events');
    state.source = source;
    source.addEventListener('open', () => {
      state.retryMs = RETRY_MIN_MS;
      setLive('live', 'live');
    });
    source.addEventListener('status', (event) => {
      let status;
      try {
        status = JSON.parse(event.data);
      } catch (e) {
        setLive('error', 'bad status event: ' + e.message);
        return;
      }
      setLive('live', 'live');
      onStatus(status);
    });
    source.addEventListener('unavailable', (event) => {
      let why = event.data;
      try { why = JSON.parse(event.data).error; } catch (e) { /* keep the raw text */ }
      setLive('error', why);
    });
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) {
        // Refused (401/403/503) or not an event stream: the browser gives up; try again later, backing off.
        source.close();
        setLive('closed', 'live updates stopped (the gateway refused or is gone); retrying in '
          + Math.round(state.retryMs / 1000) + ' s');
        markSelfUnknown();
        const wait = state.retryMs;
        state.retryMs = Math.min(RETRY_MAX_MS, state.retryMs * 2);
        setTimeout(connect, wait);
      } else {
        setLive('reconnecting', 'reconnecting to the gateway…');
        markSelfUnknown();
      }
    });
  }

  function markSelfUnknown() {
    for (const node of document.querySelectorAll('#topology .cluster[data-self="true"]')) {
      node.dataset.state = 'unknown';
    }
  }

  function onStatus(status) {
    const previous = state.status;
    state.status = status;
    renderHeader(status);
    renderTopology(status, state.plan);
    renderLinks(status);
    renderConflicts(status);
    renderImportSources(status);
    renderTunnel(status, previous);
    renderPolicy(status);
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    // Exports and imports change exactly when these do; refresh at once then, else now and then.
    const key = JSON.stringify([status.exports, status.imports && status.imports.count,
      (status.imports && status.imports.clusters || []).map((c) => [c.cluster, c.version, c.served]),
      (status.conflicts || []).length, status.policy && status.policy.version]);
    if (key !== state.auxKey || Date.now() - state.auxAt >= AUX_REFRESH_MS) {
      state.auxKey = key;
      refreshAux();
    }
  }

  async function refreshAux() {
    if (state.auxInFlight) {
      state.auxPending = true;
      return;
    }
    state.auxInFlight = true;
    state.auxAt = Date.now();
    try {
      await Promise.all([refreshExports(), refreshImports(), refreshPools(), refreshPlan(), refreshPolicyHits()]);
    } finally {
      state.auxInFlight = false;
      if (state.auxPending) {
        state.auxPending = false;
        refreshAux();
      }
    }
  }

  // ---- header ----------------------------------------------------------------------------------------------

  function renderHeader(status) {
    $('cluster-id').textContent = status.clusterId;
    document.title = 'Isthmus: ' + status.clusterId;
    const ready = $('ready');
    ready.dataset.ready = status.ready ? 'true' : 'false';
    ready.textContent = status.ready ? 'ready' : 'not ready';
    const notReady = $('not-ready');
    notReady.hidden = status.ready;
    notReady.textContent = (status.notReady || []).join('; ');
  }

  // ---- topology --------------------------------------------------------------------------------------------

  const RANK = { up: 3, connecting: 2, down: 1 };

  /** Every cluster this gateway knows of: itself, link remotes, import sources, plan members. */
  function clustersOf(status, plan) {
    const self = status.clusterId;
    const peers = new Map(); // key -> {key, name, links:[], imported, member}
    const entry = (key, name) => {
      if (!peers.has(key)) peers.set(key, { key, name, links: [], imported: null, member: false });
      return peers.get(key);
    };
    for (const link of status.peers || []) {
      if (link.cluster === self) continue;
      // An outbound link that never reached its peer knows only the address.
      const key = link.cluster ? link.cluster : 'address ' + link.address;
      entry(key, link.cluster || link.address).links.push(link);
    }
    for (const from of (status.imports && status.imports.clusters) || []) {
      entry(from.cluster, from.cluster).imported = from;
    }
    for (const member of (plan && plan.members) || []) {
      if (member !== self) entry(member, member).member = true;
    }
    for (const peer of peers.values()) {
      const best = peer.links.reduce((a, l) => (RANK[l.state] || 0) > (RANK[a && a.state] || 0) ? l : a, null);
      peer.bestLink = best;
      peer.state = best && best.state === 'up' ? 'up'
        : (peer.links.length > 0 || peer.imported) ? 'down' : 'unknown';
    }
    return [...peers.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  function renderTopology(status, plan) {
    const box = $('topology');
    const width = 640;
    const height = 400;
    const cx = width / 2;
    const cy = height / 2;
    const peers = clustersOf(status, plan);
    const nodes = [];
    const lines = [];
    peers.forEach((peer, i) => {
      // On an ellipse around this cluster, the first to the left.
      const angle = Math.PI + (2 * Math.PI * i) / peers.length;
      const x = cx + 240 * Math.cos(angle);
      const y = cy + 140 * Math.sin(angle);
      const link = peer.bestLink;
      const linkState = link ? link.state : 'none';
      const rtt = link && link.rttMillis !== undefined && link.state === 'up' ? link.rttMillis.toFixed(1) + ' ms' : '';
      lines.push(svg('line', { class: 'link', x1: cx, y1: cy, x2: x, y2: y, 'data-cluster': peer.name,
        'data-state': linkState, 'data-links': peer.links.length },
      svg('title', {}, peer.links.map((l) => l.direction + ' ' + l.state + (l.detail ? ' (' + l.detail + ')' : ''))
        .join('; ') || 'no link to ' + peer.name)));
      if (link) {
        lines.push(svg('text', { class: 'link-label', x: (cx + x) / 2, y: (cy + y) / 2 - 6, 'text-anchor': 'middle',
          'data-cluster': peer.name }, rtt || linkState));
      }
      nodes.push(clusterNode(peer.name, x, y, peer.state, false, subtitle(peer)));
    });
    nodes.push(clusterNode(status.clusterId, cx, cy, status.ready ? 'up' : 'not-ready', true,
      plural(status.exports ? status.exports.count : 0, 'export')));
    box.replaceChildren(...lines, ...nodes);
  }

  function subtitle(peer) {
    if (peer.imported) {
      return plural(peer.imported.exports, 'export') + (peer.imported.served ? '' : ', not served');
    }
    return peer.state === 'unknown' ? 'plan member' : '';
  }

  function clusterNode(name, x, y, nodeState, self, sub) {
    return svg('g', { class: 'cluster', 'data-cluster': name, 'data-state': nodeState, 'data-self': self },
      svg('title', {}, name + ': ' + nodeState),
      svg('circle', { cx: x, cy: y, r: self ? 38 : 32 }),
      svg('text', { class: 'name', x, y: y + 4, 'text-anchor': 'middle' }, name),
      svg('text', { class: 'sub', x, y: y + (self ? 56 : 50), 'text-anchor': 'middle' }, sub));
  }

  function renderLinks(status) {
    table('links', ['Link', 'Direction', 'Cluster', 'Address', 'State', 'Since', 'RTT', 'Last message',
      'Sent / acked version', 'Detail'],
    (status.peers || []).map((l) => ({
      attrs: { 'data-link': l.link, 'data-state': l.state, 'data-cluster': l.cluster || '' },
      cells: [l.link, l.direction, l.cluster || '?', l.address, el('span', { class: 'state ' + l.state }, l.state),
        since(l.since), l.rttMillis !== undefined ? l.rttMillis.toFixed(2) + ' ms' : '', since(l.lastMessageAt),
        l.sentVersion + ' / ' + l.ackedVersion, l.detail || ''],
    })), 'No peer links.');
  }

  // ---- services --------------------------------------------------------------------------------------------

  function conditionText(conditions) {
    return (conditions || []).filter((c) => c.status === 'True' && c.type !== 'Valid')
      .map((c) => c.type + (c.message ? ': ' + c.message : '')).join('; ');
  }

  async function refreshExports() {
    try {
      const exports = await getJson('/api/v1/exports');
      table('exports', ['Service', 'Type', 'Ports', 'IPs', 'Offered to', 'Exported', 'Conditions'],
        exports.map((e) => ({
          attrs: { 'data-service': e.namespace + '/' + e.name,
            'data-conflict': conditionText(e.conditions) ? 'true' : 'false' },
          cells: [e.namespace + '/' + e.name, e.type, e.ports.join(', '), e.ips.join(', '),
            e.offeredTo.length ? e.offeredTo.join(', ') : 'all', since(e.exportedAt), conditionText(e.conditions)],
        })), 'This cluster exports nothing.');
    } catch (e) {
      problem('exports', e.message);
    }
  }

  async function refreshImports() {
    try {
      const imports = await getJson('/api/v1/imports');
      table('imports', ['Service', 'Type', 'Ports', 'Clusters (endpoints)', 'Conflicts'],
        imports.map((s) => ({
          attrs: { 'data-service': s.namespace + '/' + s.name,
            'data-clusters': s.clusters.map((c) => c.cluster).join(' ') },
          cells: [s.namespace + '/' + s.name, s.type, s.ports.join(', '),
            s.clusters.map((c) => c.cluster + ' (' + c.ips.join(', ') + ')').join('; '),
            s.conflicts.map((c) => c.message).join('; ')],
        })), 'No services in the clusterset yet.');
    } catch (e) {
      problem('imports', e.message);
    }
  }

  function renderConflicts(status) {
    table('conflicts', ['Service', 'Field', 'Winner', 'Loser', 'Message'],
      (status.conflicts || []).map((c) => ({
        attrs: { 'data-service': c.service, 'data-field': c.field },
        cells: [c.service, c.field, c.winner, c.loser, c.message],
      })), 'No conflicts.');
  }

  function renderImportSources(status) {
    const imports = status.imports || {};
    const rows = (imports.clusters || []).map((c) => ({
      attrs: { 'data-cluster': c.cluster, 'data-served': c.served },
      cells: [c.cluster, c.version, c.exports, c.endpoints, c.denied, since(c.receivedAt),
        c.unreachableSince ? 'unreachable since ' + since(c.unreachableSince) : (c.served ? 'served' : 'not served'),
        conditionText(c.conditions)],
    }));
    table('import-sources', ['From', 'Version', 'Exports', 'Endpoints', 'Denied', 'Received', 'Serving',
      'Conditions'], rows, 'Nothing imported from other clusters.');
    const filter = imports.endpointFilter;
    if (filter && filter.condition && filter.condition.status === 'False') {
      $('import-sources').append(el('p', { class: 'problem' }, 'Endpoint filter (' + filter.state + '): '
        + filter.condition.reason + (filter.condition.message ? ': ' + filter.condition.message : '')));
    }
  }

  // ---- IPAM ------------------------------------------------------------------------------------------------

  async function refreshPools() {
    let pools;
    try {
      pools = await getJson('/api/v1/ipam/pools');
    } catch (e) {
      problem('pools', e.message);
      problem('reclaims', 'no pools read');
      return;
    }
    const rows = [];
    for (const pool of pools) {
      for (const family of pool.usage.length ? pool.usage : [{ cidr: pool.cidrs.join(', '), capacity: '0', used: 0 }]) {
        const capacity = Number(family.capacity);
        const share = capacity > 0 ? family.used / capacity : 0;
        rows.push({
          attrs: { 'data-pool': pool.name, 'data-cidr': family.cidr, 'data-used': family.used },
          cells: [pool.name, family.cidr,
            el('span', {}, el('meter', { min: 0, max: capacity > 0 ? capacity : 1, value: family.used }),
              ' ' + family.used + ' / ' + family.capacity + ' (' + (100 * share).toFixed(1) + ' %)'),
            pool.active, pool.parked, pool.reservations, pool.reclaimed],
        });
      }
    }
    table('pools', ['Pool', 'CIDR', 'Used / capacity', 'Active', 'Parked (fixed IPs kept)', 'Reservations',
      'Reclaimed'], rows, 'No pools.');
    await refreshReclaims(pools);
  }

  async function refreshReclaims(pools) {
    const asked = pools.slice(0, MAX_POOLS_WITH_RECLAIMS);
    const events = [];
    const failures = [];
    await Promise.all(asked.map(async (pool) => {
      try {
        events.push(...await getJson('/api/v1/ipam/pools/' + encodeURIComponent(pool.name) + '/reclaims'));
      } catch (e) {
        failures.push(e.message);
      }
    }));
    events.sort((a, b) => (b.at || '').localeCompare(a.at || ''));
    table('reclaims', ['When', 'Pool', 'Owner', 'Addresses', 'Reason'],
      events.slice(0, MAX_RECLAIMS_SHOWN).map((r) => ({
        attrs: { 'data-pool': r.pool },
        cells: [since(r.at), r.pool, r.owner ? r.owner.namespace + '/' + r.owner.name : '', (r.addresses || []).join(', '),
          r.reason],
      })), 'No addresses reclaimed.');
    if (pools.length > asked.length) {
      $('reclaims').append(el('p', { class: 'muted' }, 'Reclaims of the first ' + asked.length + ' of '
        + pools.length + ' pools.'));
    }
    for (const failure of failures) $('reclaims').append(el('p', { class: 'problem' }, failure));
  }

  async function refreshPlan() {
    try {
      state.plan = await getJson('/api/v1/ipam/segments');
    } catch (e) {
      state.plan = null;
      problem('segments', e.message);
      return;
    }
    const plan = state.plan;
    table('segments', ['Cluster', 'Kind', 'CIDR', 'State'], plan.segments.map((s) => ({
      attrs: { 'data-cluster': s.cluster, 'data-state': s.state },
      cells: [s.cluster, s.kind, s.cidr, s.state],
    })), 'No segments held or claimed' + (plan.members ? ' (members: ' + plan.members.join(', ') + ')' : '') + '.');
    for (const overlap of plan.overlaps || []) {
      $('segments').append(el('p', { class: 'problem' }, overlap.message));
    }
    if (state.status) renderTopology(state.status, plan);
  }

  // ---- tunnel ----------------------------------------------------------------------------------------------

  function renderTunnel(status, previous) {
    const tunnel = status.tunnel;
    if (!tunnel || !tunnel.enabled) {
      $('tunnel').replaceChildren(el('p', { class: 'muted empty' }, 'The tunnel is off on this gateway '
        + '(isthmus.tunnel.enabled = false).'));
      return;
    }
    const now = Date.now();
    const rows = (tunnel.peers || []).map((p) => {
      const last = state.tunnelSamples.get(p.cluster);
      let rate = '';
      if (last && now > last.at) {
        const seconds = (now - last.at) / 1000;
        rate = bytes((p.sentBytes - last.sent) / seconds) + '/s out, '
          + bytes((p.receivedBytes - last.received) / seconds) + '/s in';
      }
      if (!last || now - last.at >= 1000) {
        state.tunnelSamples.set(p.cluster, { at: now, sent: p.sentBytes, received: p.receivedBytes, rate });
      } else {
        rate = last.rate || rate;
      }
      const drops = Object.entries(p.drops || {}).filter(([, n]) => n > 0).map(([k, n]) => k + ' ' + n).join(', ');
      return {
        attrs: { 'data-cluster': p.cluster },
        cells: [p.cluster, p.endpoint, rate || '(measuring)', bytes(p.sentBytes) + ' / ' + p.sentPackets + ' pkts',
          bytes(p.receivedBytes) + ' / ' + p.receivedPackets + ' pkts',
          p.handshakeAgeSeconds !== undefined ? Math.round(p.handshakeAgeSeconds) + ' s ago (epoch ' + p.epoch + ')'
            : 'none yet', drops || 'none'],
      };
    });
    const facts = el('p', {}, 'device ' + tunnel.device + (tunnel.namespace ? ' (netns ' + tunnel.namespace + ')' : '')
      + ', data path ' + tunnel.dataPath + ', listen ' + tunnel.listen + ', mtu ' + tunnel.mtu);
    const box = $('tunnel');
    table('tunnel', ['Peer', 'Endpoint', 'Throughput', 'Sent', 'Received', 'Handshake', 'Drops'], rows,
      'No tunnel peers.');
    box.prepend(facts);
    for (const p of tunnel.problems || []) box.append(el('p', { class: 'problem' }, p));
  }

  // ---- policy ----------------------------------------------------------------------------------------------

  function renderPolicy(status) {
    const policy = status.policy;
    if (!policy) {
      $('policy').replaceChildren(el('p', { class: 'muted empty' }, 'No policy section in the status.'));
      return;
    }
    const peers = Object.entries(policy.peers || {});
    const box = $('policy');
    box.replaceChildren(el('p', {}, 'version ' + policy.version + ', ' + policy.policies + ' policies, cross-cluster default '
      + policy.crossClusterDefault + '; enforced: ' + policy.enforced));
    if (peers.length) {
      box.append(el('ul', {}, ...peers.map(([peer, version]) => el('li', { 'data-cluster': peer },
        peer + ' holds ' + version + (version === policy.version ? '' : ' (not yet converged)')))));
    }
  }

  /** isthmus_policy_rule_{packets,bytes}_total{policy="…",rule="…"} from the Prometheus text. */
  async function refreshPolicyHits() {
    let text;
    try {
      const response = await fetch('/metrics', { cache: 'no-store', credentials: 'same-origin' });
      if (!response.ok) throw new Error('/metrics answered HTTP ' + response.status);
      text = await response.text();
    } catch (e) {
      problem('policy-hits', e.message);
      return;
    }
    const hits = new Map();
    const line = /^isthmus_policy_rule_(packets|bytes)_total\{([^}]*)\} (\S+)$/;
    const label = /(\w+)="((?:[^"\\]|\\.)*)"/g;
    for (const row of text.split('\n')) {
      const m = line.exec(row);
      if (!m) continue;
      const labels = {};
      for (const l of m[2].matchAll(label)) labels[l[1]] = l[2].replace(/\\(.)/g, '$1');
      const key = labels.policy + '\u0000' + labels.rule;
      if (!hits.has(key)) hits.set(key, { policy: labels.policy, rule: labels.rule, packets: 0, bytes: 0 });
      hits.get(key)[m[1]] = Number(m[3]);
    }
    const rows = [...hits.values()].sort((a, b) => b.packets - a.packets).map((h) => ({
      attrs: { 'data-policy': h.policy, 'data-rule': h.rule },
      cells: [h.policy, h.rule, h.packets, bytes(h.bytes)],
    }));
    table('policy-hits', ['Policy', 'Rule', 'Packets', 'Bytes'], rows, 'No policy rule has decided a packet here.');
  }

  document.addEventListener('DOMContentLoaded', connect);
})();
