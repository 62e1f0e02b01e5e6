// flowlens web UI — one query form, four views (graph, table, flows,
// exporters), the state in the URL. Talks only to /api/v1/ of the same
// server; no external resources, so it works offline.
'use strict';

const $ = (s) => document.querySelector(s);
const $$ = (s) => Array.from(document.querySelectorAll(s));
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
};

// Tableau 10 order (neighbours stay distinguishable in a stack), then a
// few more; no grey, which is Other's
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1',
  '#ff9da7', '#9c755f', '#17becf', '#1f3a93', '#bcbd22', '#8c2d04', '#6a3d9a', '#006d2c'];
const OTHER_COLOR = '#c3c9d1';

// ---------------------------------------------------------------- state
const DEFAULTS = {
  view: 'graph', t: '24h', from: '', to: '', tz: 'utc', filter: '', exp: '',
  dim: 'srcip', top: '10', metric: 'bps', step: 'auto', style: 'area', perstep: '0', other: '1', linear: '1', prev: '0', pct: '0',
  op: 'stats', elem: 'srcip', tproto: '0', agg: 'srcip,dstport,proto', order: 'bytes', rows: '20', units: 'si',
  lorder: '', lsize: '100', page: '0', cols: '',
};
const S = Object.assign({}, DEFAULTS);
const FLOW_COLS = ['time_first', 'time_last', 'duration', 'proto', 'src_addr', 'src_port', 'dst_addr',
  'dst_port', 'packets', 'bytes', 'tcp_flags', 'src_tos', 'in_if', 'out_if', 'src_as', 'dst_as',
  'exporter', 'sampling_rate', 'next_hop', 'src_vlan'];
const FLOW_DEFAULT_COLS = ['time_first', 'duration', 'proto', 'src_addr', 'src_port', 'dst_addr',
  'dst_port', 'packets', 'bytes', 'tcp_flags', 'exporter'];

function readURL() {
  const p = new URLSearchParams(location.hash.slice(1));
  for (const k of Object.keys(DEFAULTS)) S[k] = p.has(k) ? p.get(k) : DEFAULTS[k];
}
function writeURL(push) {
  const p = new URLSearchParams();
  for (const k of Object.keys(DEFAULTS)) if (S[k] !== DEFAULTS[k]) p.set(k, S[k]);
  const h = '#' + p.toString();
  if (h !== location.hash) (push ? history.pushState : history.replaceState).call(history, null, '', h);
}

// ---------------------------------------------------------------- formatting
// axis: trim trailing zeros so ticks read 1 G, 1.5 G, 2 G (not 1.00 G)
function si(v, unit = '', raw = false, axis = false) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (raw) return Number.isInteger(v) ? String(v) : v.toFixed(2);
  const a = Math.abs(v);
  const fix = (x, d) => (axis ? String(parseFloat(x.toFixed(d))) : x.toFixed(d));
  const units = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [d, s] of units) if (a >= d) return fix(v / d, a / d >= 100 ? 0 : a / d >= 10 ? 1 : 2) + ' ' + s + unit;
  return (Number.isInteger(v) ? String(v) : fix(v, a >= 10 ? 1 : 2)) + (unit ? ' ' + unit : '');
}
// x axis of every chart: 24-hour times, the date under the first tick of
// each day (or alone at midnight), in the chosen zone
function timeAxis() {
  return {
    stroke: '#555', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#ddd' }, space: 64,
    values: (u, splits) => {
      let prev = '';
      return splits.map((ts) => {
        const t = fmtTime(ts * 1000), day = t.slice(5, 10), hm = t.slice(11, 16);
        const out = hm === '00:00' ? day : hm + (day !== prev ? '\n' + day : '');
        prev = day;
        return out;
      });
    },
  };
}
const METRIC_UNIT = { bps: 'b/s', pps: 'p/s', fps: 'fl/s', bytes: 'B', packets: 'pkts', flows: 'flows', bpp: 'B/pkt' };
const fmtMetric = (v) => (lastGraph && lastGraph.pct ? (v === null || v === undefined ? '–' : v.toFixed(1) + ' %') : si(v, METRIC_UNIT[S.metric] || ''));
function fmtTime(ms, withSec) {
  const d = new Date(ms);
  const p2 = (n) => String(n).padStart(2, '0');
  const u = S.tz === 'utc';
  const Y = u ? d.getUTCFullYear() : d.getFullYear(), M = (u ? d.getUTCMonth() : d.getMonth()) + 1;
  const D = u ? d.getUTCDate() : d.getDate(), h = u ? d.getUTCHours() : d.getHours();
  const m = u ? d.getUTCMinutes() : d.getMinutes(), s = u ? d.getUTCSeconds() : d.getSeconds();
  return `${Y}-${p2(M)}-${p2(D)} ${p2(h)}:${p2(m)}${withSec ? ':' + p2(s) : ''}${u ? 'Z' : ''}`;
}
function isoToMs(s) { return Date.parse(s); }

// percentile by nearest rank: the smallest value with at least p% of values <= it
function stats(vals) {
  const v = vals.filter((x) => x !== null && x !== undefined);
  if (!v.length) return { max: 0, p95: 0, avg: 0, min: 0 };
  const s = [...v].sort((a, b) => a - b);
  const sum = v.reduce((a, b) => a + b, 0);
  return { max: s[s.length - 1], p95: s[Math.max(0, Math.ceil(0.95 * s.length) - 1)], avg: sum / v.length, min: s[0] };
}
window.flStats = stats; // used by the browser tests to compare with the API

// ---------------------------------------------------------------- API
let caps = null;
async function api(path, body, signal) {
  const r = await fetch('api/v1/' + path, body ? { method: 'POST', body: JSON.stringify(body), signal, headers: { 'Content-Type': 'application/json' } } : { signal });
  const ct = r.headers.get('Content-Type') || '';
  const data = ct.startsWith('application/json') ? await r.json() : await r.text();
  if (!r.ok) {
    const e = new Error(data && data.error ? data.error.message : `HTTP ${r.status}`);
    e.api = data && data.error ? data.error : { status: r.status };
    throw e;
  }
  return data;
}

function windowParams() {
  if (S.t === 'abs' && S.from && S.to) {
    const conv = (v) => (S.tz === 'utc' ? new Date(v + 'Z') : new Date(v)).getTime();
    return { start: conv(S.from), end: conv(S.to) };
  }
  return { window: '-' + (S.t === 'abs' ? '24h' : S.t) };
}
function baseParams() {
  const p = Object.assign({ filter: S.filter }, windowParams());
  if (S.exp) p.exporters = S.exp.split(',').map(Number);
  return p;
}
function graphParams() {
  const p = baseParams();
  if (S.dim === 'total') Object.assign(p, { op: 'series', metric: S.metric, step: S.step });
  else Object.assign(p, { op: 'topseries', stat: S.dim + '/' + orderForMetric(S.metric), top: Number(S.top) || 10, metric: S.metric, step: S.step, per_step: S.perstep === '1' });
  p.linear = S.linear === '1';
  return p;
}
function orderForMetric(m) { return { bps: 'bytes', bytes: 'bytes', pps: 'packets', packets: 'packets', fps: 'flows', flows: 'flows', bpp: 'bpp' }[m] || 'bytes'; }
function tableParams() {
  const p = baseParams();
  if (S.op === 'summary') return Object.assign(p, { op: 'summary' });
  if (S.op === 'aggregate') return Object.assign(p, { op: 'aggregate', aggregate: S.agg, order: S.order, top: Number(S.rows) || 20, limit: Number(S.rows) || 20 });
  return Object.assign(p, { op: 'stats', stat: S.elem + (S.tproto === '1' ? ':p' : '') + '/' + S.order, top: Number(S.rows) || 20 });
}
function flowParams() {
  const p = baseParams();
  const size = Number(S.lsize) || 100;
  Object.assign(p, { op: 'list', limit: size, offset: (Number(S.page) || 0) * size });
  if (S.lorder === 'bytes-asc') Object.assign(p, { order: 'bytes', ascending: true });
  else if (S.lorder) p.order = S.lorder;
  return p;
}

// the equivalent command line
function shq(s) { return /^[\w@%+=:,./-]+$/.test(s) ? s : "'" + s.replace(/'/g, "'\\''") + "'"; }
function cliCommand() {
  const a = ['flowlens', 'query'];
  const w = windowParams();
  if (w.window) a.push('-t', w.window);
  else a.push('-t', new Date(w.start).toISOString().replace('.000', '') + '..' + new Date(w.end).toISOString().replace('.000', ''));
  if (S.tz === 'utc') a.push('--utc');
  if (S.view === 'graph') {
    if (S.dim === 'total') a.push('--series', S.metric);
    else {
      a.push('--topseries', S.dim + '/' + orderForMetric(S.metric), '--metric', S.metric, '-n', S.top);
      if (S.perstep === '1') a.push('--per-step');
    }
    if (S.step !== 'auto') a.push('--step', S.step);
    if (S.linear === '1') a.push('--linear');
  } else if (S.view === 'table') {
    if (S.op === 'summary') a.push('--summary');
    else if (S.op === 'aggregate') a.push('-A', S.agg, '-O', S.order, '-n', S.rows);
    else a.push('-s', S.elem + (S.tproto === '1' ? ':p' : '') + '/' + S.order, '-n', S.rows);
  } else if (S.view === 'flows') {
    a.push('-c', String((Number(S.page) + 1) * Number(S.lsize)));
    if (S.lorder) a.push('-O', S.lorder.replace('-asc', ''));
  } else {
    return 'flowlens exporters';
  }
  // saved filters live in the server's library: name it for the CLI
  if (/@include|%filters%/.test(S.filter) && caps && caps.saved_filters && caps.saved_filters.dir) a.push('--filters-dir', caps.saved_filters.dir);
  if (S.filter.trim()) a.push(S.filter.trim());
  return a.map(shq).join(' ');
}

// ---------------------------------------------------------------- filter editor
function escapeHTML(s) { return s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' }[c])); }
function showFilterError(err) {
  const box = $('.fedit'), msg = $('#ferr'), mir = $('#fmirror'), text = $('#filter').value;
  if (!err) {
    box.classList.remove('bad'); msg.hidden = true; mir.innerHTML = escapeHTML(text) + '\n';
    return;
  }
  let off = Math.max(0, Math.min(err.offset || 0, Math.max(0, text.length - 1)));
  let end = off;
  while (end < text.length && !/\s/.test(text[end])) end++;
  if (end === off) end = Math.min(text.length, off + 1);
  mir.innerHTML = escapeHTML(text.slice(0, off)) + '<mark>' + escapeHTML(text.slice(off, end) || ' ') + '</mark>' + escapeHTML(text.slice(end)) + '\n';
  box.classList.add('bad');
  msg.hidden = false;
  msg.textContent = (err.offset !== undefined ? `at ${err.offset}: ` : '') + err.message;
}
let checkTimer = null;
function scheduleFilterCheck() {
  clearTimeout(checkTimer);
  showFilterError(null);
  checkTimer = setTimeout(async () => {
    const f = $('#filter').value;
    if (!f.trim()) return;
    try { await api('filter', { filter: f }); showFilterError(null); } catch (e) { if (e.api && $('#filter').value === f) showFilterError(e.api); }
  }, 400);
}
function addToFilter(expr) {
  const cur = S.filter.trim();
  S.filter = cur ? `(${cur}) and ${expr}` : expr;
  $('#filter').value = S.filter;
}
// nfdump filter for one value of a stats element
function drillExpr(dim, key) {
  const m = {
    srcip: 'src ip', dstip: 'dst ip', ip: 'ip', srcport: 'src port', dstport: 'dst port', port: 'port',
    proto: 'proto', srcas: 'src as', dstas: 'dst as', as: 'as', inif: 'in if', outif: 'out if', if: 'if',
    srcvlan: 'src vlan', dstvlan: 'dst vlan', vlan: 'vlan', tos: 'tos', srctos: 'src tos', dsttos: 'dst tos',
    nhip: 'next ip', sysid: 'exporter', srcmask: 'src mask', dstmask: 'dst mask',
  };
  const base = dim.replace(/[:/].*$/, '');
  const k = m[base];
  if (!k) return null;
  return `${k} ${String(key).trim().toLowerCase()}`;
}

// saved filters: the server's library of filter files (%filters%), the
// same files `@include NAME` and `flowlens query --filters-dir` read
let savedLib = [];
const NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;
async function loadSaved(select) {
  const sel = $('#saved');
  if (caps && caps.saved_filters && !caps.saved_filters.available) {
    sel.innerHTML = '';
    sel.append(el('option', { value: '' }, 'Saved filters: not available'));
    sel.disabled = $('#save').disabled = $('#unsave').disabled = true;
    return;
  }
  try { savedLib = (await api('filters')).filters; } catch (e) { savedLib = []; setStatus('Saved filters: ' + e.message, true); }
  sel.innerHTML = '';
  sel.append(el('option', { value: '' }, savedLib.length ? `Saved filters (${savedLib.length})` : 'No saved filters'));
  for (const f of savedLib) sel.append(el('option', { value: f.name, title: f.text }, f.name));
  if (select) sel.value = select;
  $('#unsave').disabled = !sel.value;
}
async function saveFilter() {
  const f = $('#filter').value.trim();
  if (!f) { setStatus('Type a filter first, then save it.', true); return; }
  const cur = $('#saved').value;
  const name = window.prompt('Save this filter on the server as (letters, digits, . _ -; use it in queries as @include NAME)', cur || '');
  if (!name) return;
  if (!NAME_RE.test(name)) { setStatus(`"${name}" is not a filter name: 1-64 letters, digits, '.', '_' or '-', not starting with '.'.`, true); return; }
  try {
    const r = await fetch('api/v1/filters/' + encodeURIComponent(name), { method: 'PUT', body: f });
    const j = await r.json();
    if (!r.ok) { if (j.error.param === 'filter') showFilterError(j.error); setStatus(`Not saved: ${j.error.message}`, true); return; }
    setStatus(`Saved filter "${name}" on the server (${j.created ? 'new' : 'replaced'}); use it as @include ${name}.`);
    await loadSaved(name);
  } catch (e) { setStatus('Not saved: ' + e.message, true); }
}
async function deleteSaved() {
  const name = $('#saved').value;
  if (!name || !window.confirm(`Delete the saved filter "${name}" from the server?`)) return;
  try { await api2('DELETE', 'filters/' + encodeURIComponent(name)); setStatus(`Deleted saved filter "${name}".`); } catch (e) { setStatus(e.message, true); }
  await loadSaved();
}
async function api2(method, path) {
  const r = await fetch('api/v1/' + path, { method });
  const j = await r.json();
  if (!r.ok) throw Object.assign(new Error(j.error ? j.error.message : `HTTP ${r.status}`), { api: j.error });
  return j;
}

// ---------------------------------------------------------------- running
let running = null;
function setStatus(text, isErr) {
  const s = $('#status');
  s.textContent = text || '';
  s.classList.toggle('err', !!isErr);
}
async function runQuery(path, params) {
  if (running) running.ctrl.abort();
  const id = 'q' + Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
  const ctrl = new AbortController();
  const me = { id, ctrl };
  running = me;
  params.id = id;
  $('#cancel').hidden = false;
  setStatus('Running…');
  const poll = setInterval(async () => {
    try {
      const p = await api('progress?id=' + id);
      $('#progress').hidden = false;
      const frac = p.estimate ? Math.min(1, p.scanned / p.estimate) : 0;
      $('#pbar').style.width = (frac * 100).toFixed(1) + '%';
      $('#ptext').textContent = (p.estimate ? `${si(p.scanned)} of ${si(p.estimate)}` : si(p.scanned)) + ` flows scanned · ${(p.elapsed_ms / 1000).toFixed(1)} s`;
    } catch (e) { /* finished or not yet registered */ }
  }, 300);
  try {
    return await api(path, params, ctrl.signal);
  } finally {
    clearInterval(poll);
    if (running === me) { running = null; $('#cancel').hidden = true; $('#progress').hidden = true; }
  }
}
async function cancelQuery() {
  if (!running) return;
  try { await api('cancel', { id: running.id }); } catch (e) { /* already done */ }
}
function reportError(e) {
  if (e.name === 'AbortError') return;
  $$('.view').forEach((v) => v.classList.add('stale'));
  const a = e.api || {};
  if (a.param === 'filter') showFilterError(a);
  let hint = '';
  if (a.code === 'time_limit') hint = ' Try a shorter window or a narrower filter.';
  else if (a.code === 'memory_limit') hint = ' Try fewer rows, a shorter window or a narrower filter.';
  else if (a.code === 'busy') hint = ' The server is busy; retry in a moment.';
  else if (a.code === 'canceled') { setStatus('Canceled.'); return; }
  setStatus(`${a.status ? a.status + ' ' : ''}${a.code ? a.code + ': ' : ''}${e.message}.${hint}`, true);
}
function doneStatus(r) {
  $$('.view').forEach((v) => v.classList.remove('stale'));
  const w = r.window && r.window.start ? `${fmtTime(r.window.start)} – ${fmtTime(r.window.end)}` : 'all time';
  setStatus(`${w} · ${si(r.matched)} of ${si(r.scanned)} flows matched · ${r.cached ? 'cached, ' : ''}${r.elapsed_ms.toFixed(r.elapsed_ms < 10 ? 1 : 0)} ms`);
}

// ---------------------------------------------------------------- graph
let plot = null, lastGraph = null, hidden = new Set();
function seriesCSV(g) {
  const rows = [['time', ...g.names].join(',')];
  for (let i = 0; i < g.x.length; i++) rows.push([new Date(g.x[i] * 1000).toISOString(), ...g.raw.map((s) => s[i])].join(','));
  return rows.join('\n') + '\n';
}
async function drawGraph() {
  const r = await runQuery('query', graphParams());
  const res = r.result;
  let series = res.series;
  if (S.other !== '1') series = series.filter((s, i) => !(i === series.length - 1 && s.name === 'Other' && S.dim !== 'total'));
  const n = series.length ? series[0].values.length : 0;
  const x = Array.from({ length: n }, (_, i) => (res.start + i * res.step) / 1000);
  const names = series.map((s) => (S.dim === 'total' ? 'total' : s.name));
  let raw = series.map((s) => s.values);
  let prev = null;
  if (S.prev === '1' && r.window.start) {
    // the same total, one window length earlier, drawn as a dashed line
    const span = r.window.end - r.window.start;
    const p = Object.assign(baseParams(), { op: 'series', metric: S.metric, step: Math.round(res.step / 1000), linear: S.linear === '1',
      start: r.window.start - span, end: r.window.end - span });
    delete p.window;
    const pr = await api('query', p);
    prev = x.map((_, i) => (pr.result.series[0].values[i] === undefined ? null : pr.result.series[0].values[i]));
  }
  const pct = S.pct === '1';
  if (pct) {
    // each series as a share of everything at that step (Other included)
    const tot = x.map((_, i) => res.series.reduce((a, s) => a + (s.values[i] || 0), 0));
    raw = raw.map((v) => v.map((y, i) => (tot[i] ? (100 * y) / tot[i] : 0)));
    if (prev) prev = null;
  }
  lastGraph = { x, names, raw, r, dim: S.dim, prev, pct };
  hidden = new Set();
  renderChart();
  doneStatus(r);
  const dimLabel = S.dim === 'total' ? 'Total traffic' : `Top ${S.top} ${S.dim}`;
  $('#g-title').textContent = `${dimLabel} · ${$('#g-metric').selectedOptions[0].text} · step ${res.step / 60000 >= 60 ? res.step / 3600000 + ' h' : res.step / 60000 + ' min'}`;
}
function renderChart() {
  const g = lastGraph;
  if (!g) return;
  const box = $('#chart');
  if (plot) { plot.destroy(); plot = null; }
  box.innerHTML = '';
  if (!g.x.length || !g.raw.length || g.r.matched === 0) { box.append(el('div', { class: 'empty' }, 'No flows in this window' + (S.filter.trim() ? ' match the filter.' : '.') + ' Try a longer window or another time range.')); $('#legend').innerHTML = ''; return; }
  const stacked = S.style !== 'lines';
  const vis = g.raw.map((_, i) => !hidden.has(i));
  // stacked: series k is drawn as the sum of visible series 0..k, the top
  // one first so each lower fill paints over it
  const data = [g.x];
  const order = g.raw.map((_, i) => i);
  const cum = [];
  let acc = new Array(g.x.length).fill(0);
  for (const i of order) {
    if (stacked && vis[i]) acc = acc.map((v, j) => v + (g.raw[i][j] || 0));
    cum[i] = stacked ? acc.slice() : g.raw[i];
  }
  const drawOrder = stacked ? [...order].reverse() : order;
  const colors = g.names.map((nm, i) => (nm === 'Other' ? OTHER_COLOR : PALETTE[i % PALETTE.length]));
  const uSeries = [{}];
  for (const i of drawOrder) {
    data.push(cum[i]);
    const c = colors[i];
    const s = { label: g.names[i], stroke: c, width: stacked ? 1 : 1.5, show: vis[i], points: { show: false } };
    if (stacked) s.fill = c; // opaque: lower bands paint over the ones above without muddying
    if (S.style === 'bars') { s.paths = uPlot.paths.bars({ size: [0.92, 40] }); s.fill = c; }
    uSeries.push(s);
  }
  if (g.prev) {
    data.push(g.prev);
    uSeries.push({ label: 'previous period', stroke: '#343a40', width: 1.5, dash: [6, 4], points: { show: false } });
  }
  const width = Math.max(300, box.clientWidth - 10);
  const height = Math.round(Math.max(240, Math.min(window.innerHeight - 400, window.innerHeight * 0.6)));
  const opts = {
    width, height, series: uSeries, legend: { show: false },
    scales: { x: { time: true } },
    tzDate: (ts) => (S.tz === 'utc' ? uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC') : new Date(ts * 1e3)),
    axes: [timeAxis(),
      { stroke: '#555', size: 84, space: 44, grid: { stroke: '#eef0f3' }, ticks: { stroke: '#ddd' }, values: (u, vals) => vals.map((v) => (g.pct ? v + ' %' : si(v, METRIC_UNIT[S.metric], false, true))) }],
    cursor: { drag: { x: true, y: false }, points: { show: false } },
    hooks: { setCursor: [(u) => hover(u, drawOrder)], setSelect: [(u) => zoomTo(u)] },
  };
  plot = new uPlot(opts, data, box);
  plot.over.addEventListener('mouseleave', () => { $('#tip').hidden = true; });
  plot.over.addEventListener('click', () => {
    // click a stacked band: drill into the series under the cursor
    const idx = plot.cursor.idx, top = plot.cursor.top;
    if (idx == null || top == null || !stacked) return;
    const yv = plot.posToVal(top, 'y');
    for (const i of order) if (vis[i] && cum[i][idx] >= yv) { drill(i); return; }
  });
  renderLegend(colors, vis);
}
function zoomTo(u) {
  if (u.select.width < 5) return;
  const a = u.posToVal(u.select.left, 'x'), b = u.posToVal(u.select.left + u.select.width, 'x');
  const toLocal = (ms) => { const d = new Date(ms - (S.tz === 'utc' ? 0 : new Date(ms).getTimezoneOffset() * 60000)); return d.toISOString().slice(0, 16); };
  S.t = 'abs'; S.from = toLocal(a * 1000); S.to = toLocal(b * 1000);
  syncForm(); submit(true);
}
function hover(u, drawOrder) {
  const g = lastGraph, idx = u.cursor.idx, tip = $('#tip');
  $$('#legend td.cur').forEach((td) => { const i = Number(td.dataset.i); td.textContent = idx == null ? '' : fmtMetric(g.raw[i][idx]); });
  if (idx == null || u.cursor.left < 0) { tip.hidden = true; return; }
  let total = 0;
  g.raw.forEach((s, i) => { if (!hidden.has(i)) total += s[idx] || 0; });
  const rows = g.raw.map((s, i) => ({ i, v: s[idx] || 0 })).filter((o) => !hidden.has(o.i)).sort((a, b) => b.v - a.v).slice(0, 12);
  const colors = g.names.map((nm, i) => (nm === 'Other' ? OTHER_COLOR : PALETTE[i % PALETTE.length]));
  tip.innerHTML = `<div><b>${fmtTime(g.x[idx] * 1000)}</b> · total ${escapeHTML(fmtMetric(total))}</div><table>` +
    rows.map((o) => `<tr><td><span class="sw" style="background:${colors[o.i]}"></span>${escapeHTML(g.names[o.i])}</td><td class="n">${escapeHTML(fmtMetric(o.v))}</td><td class="n">${total ? (100 * o.v / total).toFixed(1) : '0.0'}%</td></tr>`).join('') + '</table>';
  tip.hidden = false;
  const rect = u.over.getBoundingClientRect();
  let left = rect.left + u.cursor.left + 16, top = rect.top + u.cursor.top + 12;
  if (left + tip.offsetWidth > window.innerWidth - 8) left = rect.left + u.cursor.left - tip.offsetWidth - 16;
  if (top + tip.offsetHeight > window.innerHeight - 8) top = window.innerHeight - tip.offsetHeight - 8;
  tip.style.left = left + 'px'; tip.style.top = top + 'px';
}
function renderLegend(colors, vis) {
  const g = lastGraph, t = $('#legend');
  t.innerHTML = '';
  const total = g.raw.map((s) => s.reduce((a, b) => a + (b || 0), 0));
  const all = total.reduce((a, b) => a + b, 0);
  t.append(el('tr', {}, el('th', {}, g.dim === 'total' ? 'Series' : g.dim), el('th', { class: 'n' }, 'Max'), el('th', { class: 'n' }, '95th'),
    el('th', { class: 'n' }, 'Avg'), el('th', { class: 'n' }, 'Min'), el('th', { class: 'n' }, 'Share'), el('th', { class: 'n' }, 'At cursor'), el('th', {}, '')));
  g.raw.forEach((vals, i) => {
    const st = stats(vals);
    const sw = el('span', { class: 'sw', style: `background:${colors[i]}`, title: 'show/hide' });
    sw.addEventListener('click', (ev) => { ev.stopPropagation(); if (hidden.has(i)) hidden.delete(i); else hidden.add(i); renderChart(); });
    const canDrill = g.names[i] !== 'Other' && g.dim !== 'total';
    const name = el('td', { class: 'name', 'data-series': g.names[i], title: canDrill ? 'click: add to the filter (drill down)' : '' }, sw, g.names[i]);
    if (canDrill) name.addEventListener('click', () => drill(i));
    const tr = el('tr', { class: vis[i] ? '' : 'off' }, name);
    for (const k of ['max', 'p95', 'avg', 'min']) tr.append(el('td', { class: 'n', 'data-k': k, 'data-raw': String(st[k]) }, fmtMetric(st[k])));
    tr.append(el('td', { class: 'n' }, all ? (100 * total[i] / all).toFixed(1) + '%' : '–'));
    tr.append(el('td', { class: 'n cur', 'data-i': String(i) }, ''));
    if (canDrill) {
      const a = el('a', { class: 'flows-link', href: '#', title: 'list the flows of this series' }, 'flows');
      a.addEventListener('click', (ev) => { ev.preventDefault(); addToFilter(drillExpr(g.dim, g.names[i])); S.view = 'flows'; S.page = '0'; submit(true); });
      tr.append(el('td', {}, a));
    } else tr.append(el('td'));
    t.append(tr);
  });
  if (g.prev) {
    const st = stats(g.prev.filter((v) => v !== null));
    const tr = el('tr', {}, el('td', { class: 'name prev' }, el('span', { class: 'sw dash' }), 'previous period (total)'));
    for (const k of ['max', 'p95', 'avg', 'min']) tr.append(el('td', { class: 'n' }, fmtMetric(st[k])));
    tr.append(el('td'), el('td'), el('td'));
    t.append(tr);
  }
}
function drill(i) {
  const g = lastGraph;
  const expr = drillExpr(g.dim, g.names[i]);
  if (!expr) { setStatus(`No filter syntax for ${g.dim} yet.`, true); return; }
  addToFilter(expr);
  submit(true);
}
// The graph as a standalone SVG (vector copy of what the canvas shows).
function graphSVG() {
  const g = lastGraph, W = 1200, H = 420, L = 80, R = 16, T = 16, B = 40;
  const n = g.x.length, stacked = S.style !== 'lines';
  const vis = g.raw.map((_, i) => !hidden.has(i));
  const colors = g.names.map((nm, i) => (nm === 'Other' ? OTHER_COLOR : PALETTE[i % PALETTE.length]));
  const cum = [];
  let acc = new Array(n).fill(0), max = 0;
  g.raw.forEach((v, i) => {
    if (stacked && vis[i]) acc = acc.map((a, j) => a + (v[j] || 0));
    cum[i] = stacked ? acc.slice() : v.map((y) => y || 0);
    if (vis[i]) max = Math.max(max, ...cum[i]);
  });
  if (!max) max = 1;
  const X = (j) => L + (n > 1 ? (j * (W - L - R)) / (n - 1) : 0), Y = (v) => T + (H - T - B) * (1 - v / max);
  const esc = (t) => String(t).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 20 * g.names.length}" font-family="sans-serif" font-size="12">`;
  out += `<rect width="100%" height="100%" fill="#fff"/>`;
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    out += `<line x1="${L}" x2="${W - R}" y1="${Y(v)}" y2="${Y(v)}" stroke="#e5e7eb"/><text x="${L - 6}" y="${Y(v) + 4}" text-anchor="end">${esc(fmtMetric(v))}</text>`;
  }
  const order = stacked ? g.raw.map((_, i) => i).reverse() : g.raw.map((_, i) => i);
  for (const i of order) {
    if (!vis[i]) continue;
    const pts = cum[i].map((v, j) => `${X(j).toFixed(1)},${Y(v).toFixed(1)}`).join(' ');
    out += stacked
      ? `<polygon points="${X(0)},${Y(0)} ${pts} ${X(n - 1)},${Y(0)}" fill="${colors[i]}" stroke="${colors[i]}" stroke-width="0.5"/>`
      : `<polyline points="${pts}" fill="none" stroke="${colors[i]}" stroke-width="1.5"/>`;
  }
  out += `<text x="${L}" y="${H - 14}">${esc(fmtTime(g.x[0] * 1000))}</text><text x="${W - R}" y="${H - 14}" text-anchor="end">${esc(fmtTime(g.x[n - 1] * 1000))}</text>`;
  g.names.forEach((nm, i) => { out += `<rect x="${L}" y="${H + 20 * i}" width="10" height="10" fill="${colors[i]}"/><text x="${L + 16}" y="${H + 20 * i + 10}">${esc(nm)}</text>`; });
  return out + '</svg>\n';
}
function download(name, text, type) {
  const a = el('a', { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(a); a.click(); a.remove();
}
function stamp() { return new Date().toISOString().slice(0, 16).replace(/[-:T]/g, ''); }
// CSV of what is shown: the same spec with the window the answer resolved
async function exportCSV(params, name, shown) {
  if (shown && shown.window && shown.window.start) {
    delete params.window;
    params.start = shown.window.start;
    params.end = shown.window.end;
  }
  try {
    const r = await fetch('api/v1/query', { method: 'POST', body: JSON.stringify(Object.assign({}, params, { format: 'csv' })) });
    const text = await r.text();
    if (!r.ok) throw Object.assign(new Error(JSON.parse(text).error.message), { api: JSON.parse(text).error });
    download(name, text, 'text/csv');
  } catch (e) { reportError(e); }
}

// ---------------------------------------------------------------- table
let lastTable = null, tsort = null;
async function drawTable() {
  const r = await runQuery('query', tableParams());
  lastTable = { r, op: S.op };
  tsort = null;
  renderTable();
  doneStatus(r);
}
function renderTable() {
  const t = $('#table'), sum = $('#summary');
  t.innerHTML = ''; sum.innerHTML = '';
  if (!lastTable) return;
  const { r, op } = lastTable, raw = S.units === 'raw';
  const tot = r.total;
  const item = (k, v) => el('span', {}, k + ' ', el('b', {}, v));
  sum.append(item('Flows', si(tot.flows, '', raw)), item('Packets', si(tot.packets, '', raw)), item('Bytes', si(tot.bytes, 'B', raw)),
    item('Scanned', si(r.scanned, '', raw)), item('Window', r.window.start ? `${fmtTime(r.window.start)} – ${fmtTime(r.window.end)}` : 'all'));
  if (op === 'summary') {
    $('#t-title').textContent = 'Summary';
    const pr = r.result.protocols;
    t.append(el('tr', {}, el('th', {}, 'Protocol'), el('th', { class: 'n' }, 'Flows'), el('th', { class: 'n' }, 'Flows %'), el('th', { class: 'n' }, 'Packets'), el('th', { class: 'n' }, 'Bytes'), el('th', { class: 'n' }, 'Bytes %')));
    for (const [name, c] of Object.entries(pr)) {
      t.append(el('tr', {}, el('td', { class: 'key' }, name), el('td', { class: 'n' }, si(c.flows, '', raw)), el('td', { class: 'n' }, pctCell(c.flows, r.result.flows)),
        el('td', { class: 'n' }, si(c.packets, '', raw)), el('td', { class: 'n' }, si(c.bytes, 'B', raw)), el('td', { class: 'n' }, pctCell(c.bytes, r.result.bytes))));
    }
    return;
  }
  const rows = r.result.rows.slice();
  let keys;
  if (op === 'aggregate') keys = Object.keys(rows[0] || {}).filter((k) => !['flows', 'packets', 'bytes', 'pps', 'bps', 'bpp', 'first', 'last'].includes(k));
  else keys = rows.length && rows[0].proto !== undefined ? ['key', 'proto'] : ['key'];
  $('#t-title').textContent = op === 'aggregate' ? `Aggregated on ${S.agg} · ${r.result.distinct} distinct` : `Top ${S.rows} ${S.elem} by ${S.order} · ${r.result.distinct} distinct`;
  const cols = [...keys.map((k) => ({ k, label: k === 'key' ? S.elem : k, key: true })),
    { k: 'flows', label: 'Flows', n: 1 }, { k: 'flows_pct', label: 'Flows %', n: 1, pct: 1 },
    { k: 'packets', label: 'Packets', n: 1 }, { k: 'bytes', label: 'Bytes', n: 1, unit: 'B' }, { k: 'bytes_pct', label: 'Bytes %', n: 1, pct: 1 },
    { k: 'pps', label: 'pps', n: 1 }, { k: 'bps', label: 'bps', n: 1, unit: 'b/s' }, { k: 'bpp', label: 'bpp', n: 1 },
    { k: 'first', label: 'First seen' }, { k: 'last', label: 'Last seen' }];
  if (op === 'aggregate') for (const row of rows) { row.flows_pct = tot.flows ? 100 * row.flows / tot.flows : 0; row.bytes_pct = tot.bytes ? 100 * row.bytes / tot.bytes : 0; }
  if (tsort) {
    const { k, dir } = tsort;
    rows.sort((a, b) => (typeof a[k] === 'number' ? a[k] - b[k] : String(a[k]).localeCompare(String(b[k]), undefined, { numeric: true })) * dir);
  }
  const head = el('tr');
  for (const c of cols) {
    const th = el('th', { class: 'sort' + (c.n ? ' n' : '') + (tsort && tsort.k === c.k ? (tsort.dir > 0 ? ' asc' : ' desc') : '') }, c.label);
    th.addEventListener('click', () => { tsort = { k: c.k, dir: tsort && tsort.k === c.k ? -tsort.dir : (c.n ? -1 : 1) }; renderTable(); });
    head.append(th);
  }
  t.append(head);
  if (!rows.length) { t.append(el('tr', {}, el('td', { colspan: String(cols.length), class: 'empty' }, 'No flows match.'))); return; }
  for (const row of rows) {
    const tr = el('tr');
    for (const c of cols) {
      const v = row[c.k];
      let td;
      if (c.pct) td = el('td', { class: 'n' }, pctCell(v, 100));
      else if (c.n) td = el('td', { class: 'n', 'data-raw': String(v) }, si(v, c.unit || '', raw));
      else if (c.k === 'first' || c.k === 'last') td = el('td', { class: 'small' }, fmtTime(isoToMs(v), true).slice(5));
      else td = el('td', { class: 'key', title: 'click: add to the filter' }, v);
      if (c.key && op === 'stats' && c.k === 'key') td.addEventListener('click', () => { const ex = drillExpr(S.elem, v); if (ex) { addToFilter(ex); submit(true); } });
      tr.append(td);
    }
    t.append(tr);
  }
}
function pctCell(v, whole) {
  const p = whole ? (100 * v) / whole : 0;
  return el('span', { class: 'pct' }, el('i', { style: `width:${Math.min(100, p).toFixed(1)}%` }), el('span', {}, p.toFixed(1) + '%'));
}

// ---------------------------------------------------------------- flows
let lastFlows = null;
function flowCols() { return S.cols ? S.cols.split(',') : FLOW_DEFAULT_COLS; }
async function drawFlows() {
  const r = await runQuery('query', flowParams());
  lastFlows = r;
  renderFlows();
  doneStatus(r);
}
const PROTO = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 47: 'GRE', 50: 'ESP', 58: 'ICMP6', 132: 'SCTP' };
function tcpFlags(f) { return 'CEUAPRSF'.split('').map((c, i) => (f & (0x80 >> i) ? c : '.')).join(''); }
function renderFlows() {
  const t = $('#flows');
  t.innerHTML = '';
  if (!lastFlows) return;
  const rows = lastFlows.result, cols = flowCols(), size = Number(S.lsize), page = Number(S.page);
  $('#l-title').textContent = `Flows ${page * size + 1}–${page * size + rows.length}` + (S.lorder ? ` · ${$('#l-order').selectedOptions[0].text}` : '');
  $('#l-page').textContent = `page ${page + 1}`;
  $('#l-prev').disabled = page === 0;
  $('#l-next').disabled = rows.length < size;
  const head = el('tr');
  for (const c of cols) head.append(el('th', { class: /bytes|packets|port|duration|if$|as$|exporter|rate/.test(c) ? 'n' : '' }, c.replace(/_/g, ' ')));
  t.append(head);
  if (!rows.length) { t.append(el('tr', {}, el('td', { colspan: String(cols.length), class: 'empty' }, 'No flows on this page.'))); return; }
  for (const f of rows) {
    const tr = el('tr');
    for (const c of cols) {
      let v = f[c], cls = '';
      if (c === 'duration') { v = ((isoToMs(f.time_last) - isoToMs(f.time_first)) / 1000).toFixed(3); cls = 'n'; }
      else if (c === 'time_first' || c === 'time_last') { v = v ? fmtTime(isoToMs(v), true).slice(5) : ''; cls = 'small'; }
      else if (c === 'proto') v = PROTO[v] || v;
      else if (c === 'tcp_flags') { v = f.proto === 6 ? tcpFlags(v || 0) : ''; cls = 'key'; }
      else if (c === 'bytes' || c === 'packets') { v = si(v || 0, '', S.units === 'raw'); cls = 'n'; }
      else if (/addr|hop/.test(c)) cls = 'key';
      else if (typeof v === 'number' || v === undefined) { v = v === undefined ? 0 : v; cls = 'n'; }
      tr.append(el('td', { class: cls }, v));
    }
    t.append(tr);
  }
}

// ---------------------------------------------------------------- exporters
// The store's exporters merged with the collector's statistics (sequence
// loss, malformed packets, templates, sampling, drops), flows/s of each
// over the window as a sparkline and as one chart. Exporters with loss or
// malformed packets are highlighted and say why.
let expPlot = null, expTimer = null;
function ago(ms) {
  if (!ms && ms !== 0) return '–';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return s + ' s ago';
  if (s < 5400) return Math.round(s / 60) + ' min ago';
  if (s < 172800) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' d ago';
}
function sparkline(vals, color) {
  const w = 84, h = 22, n = vals.length;
  const max = Math.max(...vals.map((v) => v || 0), 0);
  if (!n || !max) return el('span', { class: 'muted small' }, 'no flows');
  const pts = vals.map((v, i) => `${(i * (w - 2)) / Math.max(1, n - 1) + 1},${(h - 2 - ((v || 0) / max) * (h - 4)).toFixed(1)}`).join(' ');
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('width', w); svg.setAttribute('height', h); svg.setAttribute('class', 'spark');
  svg.innerHTML = `<polyline points="1,${h - 1} ${pts} ${w - 1},${h - 1}" fill="${color}22" stroke="none"/><polyline points="${pts}" fill="none" stroke="${color}" stroke-width="1.3"/>`;
  return svg;
}
function samplingText(e, c) {
  const rate = c && c.sampling_rate ? c.sampling_rate : e.sampling;
  const txt = rate > 1 ? '1:' + rate : rate === 1 ? 'unsampled' : 'unknown';
  const src = c && c.sampling_source ? c.sampling_source : '';
  return src && src !== 'unknown' ? `${txt} (${src})` : txt;
}
function collectorSummary(x) {
  const box = $('#expsum'), c = x.collector || {};
  box.innerHTML = '';
  box.classList.remove('warnbox');
  const item = (k, v, bad) => el('span', { class: bad ? 'bad' : '' }, k + ' ', el('b', {}, v));
  if (c.status === 'ok' || (c.status === 'malformed' && c.written)) {
    box.append(item('Collector', c.status === 'ok' ? 'running' : 'statistics partly unreadable', c.status !== 'ok'),
      item('Statistics', c.age_ms !== undefined ? ago(c.age_ms) : (c.written || '–'), c.age_ms > 30000),
      item('Datagrams', si(c.datagrams)), item('Kernel drops', si(c.kernel_drops || 0), c.kernel_drops > 0),
      item('Queue drops', si(c.queue_drops || 0), c.queue_drops > 0), item('TCP connections', si(c.tcp_connections || 0)),
      item('Since', c.started ? fmtTime(isoToMs(c.started)) : '–'));
    if (c.status !== 'ok') { box.classList.add('warnbox'); box.append(el('span', { class: 'bad' }, c.message)); }
  } else {
    box.classList.add('warnbox');
    const why = { missing: 'Collector statistics not written yet', unavailable: 'No collector statistics', malformed: 'Collector statistics unreadable' }[c.status] || 'Collector statistics';
    box.append(el('span', {}, el('b', {}, why + ': '), c.message || ''),
      el('span', { class: 'muted' }, 'Sequence loss, malformed packets, templates and drops appear here once the collector reports them; flows, bytes and interfaces below come from the store.'));
  }
}
async function drawExporters() {
  clearTimeout(expTimer);
  const x = await api('exporters');
  collectorSummary(x);
  const t = $('#exptable');
  t.innerHTML = '';
  const list = x.exporters.slice();
  for (const u of x.unmatched || []) list.push({ id: u.store_id, name: u.name || '', address: u.addr || '', flows: 0, bytes: 0, sampling: 0, interfaces: 0, interface_names: [], collector: u, unmatched: true });
  const warn = list.filter((e) => e.collector && e.collector.health && e.collector.health.level !== 'ok').length;
  $('#x-title').textContent = `Exporters · ${list.length}` + (warn ? ` · ${warn} with problems` : '');
  // flows/s per exporter over the window (sysid is the exporter id)
  let r = null, series = [], xs = [];
  if (x.exporters.length) {
    r = await runQuery('query', Object.assign(baseParams(), { op: 'topseries', stat: 'sysid/flows', metric: 'fps', top: Math.min(100, x.exporters.length), step: S.step }));
    const res = r.result, n = res.series.length ? res.series[0].values.length : 0;
    xs = Array.from({ length: n }, (_, i) => (res.start + i * res.step) / 1000);
    series = res.series.filter((s) => s.name !== 'Other').sort((a, b) => Number(a.name) - Number(b.name));
  }
  const byId = new Map(series.map((s) => [String(s.name).trim(), s.values]));
  const color = (id) => PALETTE[(Number(id) - 1 + PALETTE.length) % PALETTE.length];
  const cols = [['', ''], ['Exporter', 'name, id; address, protocol and observation domain'], ['Flows/s', 'flows per second over the window'], ['Avg', 'average flows/s over the window'],
    ['Flows', ''], ['Bytes', ''], ['Sampling', 'rate and where it came from'], ['Tmpl', 'templates in use'], ['Seq. loss', 'lost by sequence numbers (share of what they count)'],
    ['Malformed', 'malformed packets (hover a value for the reasons)'], ['No tmpl', 'data sets that arrived without a known template'], ['Q drops', 'datagrams dropped in the collector queue'],
    ['Ifs', 'interfaces seen (hover for names)'], ['Last seen', '']];
  t.append(el('tr', {}, ...cols.map(([h, title], i) => el('th', { class: i >= 3 && i !== 6 && i < 13 ? 'n' : '', ...(title ? { title } : {}) }, h))));
  const now = Date.now();
  for (const e of list) {
    const c = e.collector, vals = byId.get(String(e.id)) || [];
    const issues = c && c.health ? c.health.issues : [];
    const level = !c ? 'none' : issues.length ? 'warn' : 'ok';
    const dot = el('span', { class: 'dot ' + level, title: level === 'none' ? 'no collector statistics for this exporter' : issues.length ? issues.join('\n') : 'no loss, no malformed packets' });
    const name = el('td', {}, el('div', { class: 'xname' }, e.name || (e.unmatched ? 'not in the store yet' : 'unnamed'), el('span', { class: 'muted small' }, ' #' + e.id)),
      el('div', { class: 'xaddr' }, e.address + (c && c.proto ? ' · ' + c.proto : '') + (c && c.domain ? ' · domain ' + c.domain : '')));
    if (issues.length) name.append(el('div', { class: 'issues' }, issues.join(' · ')));
    const malf = c ? Object.entries(c.malformed || {}).filter(([, v]) => v > 0).map(([k, v]) => `${k}: ${v}`).join('\n') : '';
    const ifs = (e.interface_names || []).map((f) => f.ifindex + (f.name ? ' ' + f.name : '')).join('\n');
    const last = c && c.last_seen ? isoToMs(c.last_seen) : e.last_seen;
    const stale = last && now - last > 600000;
    const cell = (v, cls, title) => el('td', { class: 'n ' + (cls || ''), ...(title ? { title } : {}) }, v);
    t.append(el('tr', { class: level === 'warn' ? 'warn' : '', 'data-exporter': String(e.id) },
      el('td', {}, dot), name,
      el('td', {}, sparkline(vals, color(e.id))),
      cell(vals.length ? si(vals.reduce((a, b) => a + (b || 0), 0) / vals.length, 'fl/s') : '–'),
      cell(si(e.flows)), cell(si(e.bytes, 'B')),
      el('td', {}, samplingText(e, c)),
      cell(c ? c.templates : '–', '', c ? `${c.templates_seen || 0} seen, ${c.templates_withdrawn || 0} withdrawn` : ''),
      cell(c ? (c.seq_lost ? `${si(c.seq_lost)} (${c.loss_pct.toFixed(c.loss_pct < 1 ? 2 : 1)}%)` : '0') : '–', c && c.seq_lost ? 'bad' : '', c ? `${c.seq_reorder || 0} reordered` : ''),
      cell(c ? si(c.malformed_total) : '–', c && c.malformed_total ? 'bad' : '', malf),
      cell(c ? si(c.missing_template_sets || 0) : '–', c && c.missing_template_sets ? 'bad' : ''),
      cell(c ? si(c.queue_drops || 0) : '–', c && c.queue_drops ? 'bad' : ''),
      cell(e.interfaces, '', ifs),
      el('td', { class: stale ? 'bad' : '', title: last ? fmtTime(last, true) : '' }, last ? ago(now - last) : '–')));
  }
  if (!list.length) t.append(el('tr', {}, el('td', { colspan: String(cols.length), class: 'empty' }, 'No exporter has sent flows yet. Point NetFlow/IPFIX/sFlow at the collector (flowlens serve --listen) or start it with --demo.')));
  // one chart of every exporter's flows/s, named
  const box = $('#expchart');
  if (expPlot) { expPlot.destroy(); expPlot = null; }
  box.innerHTML = '';
  const names = new Map(list.map((e) => [String(e.id), e.name ? `${e.name} (#${e.id})` : `#${e.id} ${e.address}`]));
  if (!series.length || !xs.length) box.append(el('div', { class: 'empty' }, 'No flows in this window.'));
  else {
    expPlot = new uPlot({
      width: Math.max(300, box.clientWidth - 10), height: Math.round(Math.max(200, Math.min(320, window.innerHeight * 0.3))),
      series: [{ value: (u, v) => (v == null ? '–' : fmtTime(v * 1000)) }, ...series.map((s) => ({ label: names.get(String(s.name).trim()) || 'exporter ' + s.name, stroke: color(String(s.name).trim()), width: 1.5, points: { show: false }, value: (u, v) => si(v, 'fl/s') }))],
      scales: { x: { time: true } },
      tzDate: (ts) => (S.tz === 'utc' ? uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC') : new Date(ts * 1e3)),
      axes: [timeAxis(), { size: 84, space: 40, grid: { stroke: '#eef0f3' }, values: (u, v) => v.map((y) => si(y, 'fl/s', false, true)) }],
    }, [xs, ...series.map((s) => s.values)], box);
    box.querySelector('.u-legend') && (box.querySelector('.u-legend').style.display = 'table');
  }
  if (r) doneStatus(r); else setStatus('');
  if ($('#x-auto').checked && S.view === 'exporters') expTimer = setTimeout(() => { if (S.view === 'exporters') drawExporters().catch(reportError); }, 10000);
}
async function loadExporterList() {
  try {
    const x = await api('exporters');
    const sel = $('#exporters');
    sel.innerHTML = '';
    const chosen = new Set(S.exp ? S.exp.split(',') : []);
    for (const e of x.exporters) sel.append(el('option', { value: String(e.id), ...(chosen.has(String(e.id)) ? { selected: '' } : {}) }, `#${e.id} ${e.name ? e.name + ' · ' : ''}${e.address}`));
    sel.size = Math.min(5, Math.max(2, x.exporters.length));
  } catch (e) { /* shown when a query fails */ }
}

// ---------------------------------------------------------------- form <-> state
function syncForm() {
  $$('#tabs .tab').forEach((b) => b.classList.toggle('on', b.dataset.view === S.view));
  $$('.view').forEach((v) => v.classList.toggle('on', v.id === 'v-' + S.view));
  $$('.vopts').forEach((v) => { v.hidden = v.id !== 'opts-' + S.view; });
  $$('#presets button').forEach((b) => b.classList.toggle('on', b.dataset.preset === S.t));
  $('#abs').hidden = S.t !== 'abs';
  $$('#tz button').forEach((b) => b.classList.toggle('on', b.dataset.tz === S.tz));
  $$('#units button').forEach((b) => b.classList.toggle('on', b.dataset.units === S.units));
  $('#from').value = S.from; $('#to').value = S.to;
  if ($('#filter').value !== S.filter) $('#filter').value = S.filter;
  const set = (id, v) => { const e = $(id); if (e) e.value = v; };
  set('#g-dim', S.dim); set('#g-top', S.top); set('#g-metric', S.metric); set('#g-step', S.step); set('#g-style', S.style);
  $('#g-perstep').checked = S.perstep === '1'; $('#g-other').checked = S.other === '1'; $('#g-linear').checked = S.linear === '1';
  $('#g-prev').checked = S.prev === '1'; $('#g-pct').checked = S.pct === '1';
  set('#t-op', S.op); set('#t-elem', S.elem); set('#t-agg', S.agg); set('#t-order', S.order); set('#t-top', S.rows);
  $('#t-elem-l').hidden = S.op !== 'stats'; $('#t-agg-l').hidden = S.op !== 'aggregate';
  $('#t-proto-l').hidden = S.op !== 'stats'; $('#t-proto').checked = S.tproto === '1';
  set('#l-order', S.lorder); set('#l-size', S.lsize);
  const cols = new Set(flowCols());
  $$('#l-cols input').forEach((c) => { c.checked = cols.has(c.value); });
  $('#cmd').textContent = cliCommand();
  $('#winlabel').textContent = S.t === 'abs' ? (S.tz === 'utc' ? 'times in UTC' : 'local times') : `last ${S.t}`;
}
function readForm() {
  S.filter = $('#filter').value;
  S.from = $('#from').value; S.to = $('#to').value;
  S.dim = $('#g-dim').value; S.top = $('#g-top').value; S.metric = $('#g-metric').value; S.step = $('#g-step').value; S.style = $('#g-style').value;
  S.perstep = $('#g-perstep').checked ? '1' : '0'; S.other = $('#g-other').checked ? '1' : '0'; S.linear = $('#g-linear').checked ? '1' : '0';
  S.prev = $('#g-prev').checked ? '1' : '0'; S.pct = $('#g-pct').checked ? '1' : '0';
  S.tproto = $('#t-proto').checked ? '1' : '0';
  S.op = $('#t-op').value; S.elem = $('#t-elem').value; S.agg = $('#t-agg').value; S.order = $('#t-order').value; S.rows = $('#t-top').value;
  S.lorder = $('#l-order').value; S.lsize = $('#l-size').value;
  S.exp = Array.from($('#exporters').selectedOptions).map((o) => o.value).join(',');
  const cols = $$('#l-cols input').filter((c) => c.checked).map((c) => c.value);
  S.cols = cols.join(',') === FLOW_DEFAULT_COLS.join(',') ? '' : cols.join(',');
}
// The view's first answer: a placeholder that says what is happening
// (running, or what went wrong) instead of a blank panel.
const VIEW_BOX = { graph: '#chart', table: '#table', flows: '#flows', exporters: '#exptable' };
function placeholder(text, isErr) {
  const box = $(VIEW_BOX[S.view]);
  if (!box || box.querySelector('canvas, tr, .u-wrap')) return;
  box.innerHTML = '';
  const p = el(box.tagName === 'TABLE' ? 'caption' : 'div', { class: 'empty' + (isErr ? ' err' : '') }, text);
  box.append(p);
  $('#v-' + S.view).classList.remove('stale'); // nothing older to fade
}
async function submit(push) {
  syncForm();
  writeURL(push);
  showFilterError(null);
  placeholder('Running the query…');
  try {
    if (S.view === 'graph') await drawGraph();
    else if (S.view === 'table') await drawTable();
    else if (S.view === 'flows') await drawFlows();
    else await drawExporters();
  } catch (e) {
    reportError(e);
    if (e.name !== 'AbortError') placeholder(e.api && e.api.code === 'canceled' ? 'Canceled. Run the query again when ready.' : 'No result: ' + e.message + '. Fix it above and run the query again.', true);
  }
}

// ---------------------------------------------------------------- init
async function init() {
  readURL();
  try {
    caps = await api('capabilities');
    $('#backend').textContent = `backend: ${caps.backend}` + (caps.filter.available ? '' : ' · filters not available yet');
  } catch (e) { setStatus('Cannot reach the flowlens API: ' + e.message, true); }
  const dims = caps ? caps.dimensions : ['srcip', 'dstip', 'srcport', 'dstport', 'proto'];
  const gd = $('#g-dim');
  gd.append(el('option', { value: 'total' }, 'total traffic'));
  for (const d of dims) gd.append(el('option', { value: d }, 'top ' + d));
  for (const d of dims) $('#t-elem').append(el('option', { value: d }, d));
  for (const c of FLOW_COLS) $('#l-cols').append(el('label', {}, el('input', { type: 'checkbox', value: c }), ' ' + c.replace(/_/g, ' ')));
  await loadExporterList();
  syncForm();

  $$('#tabs .tab').forEach((b) => b.addEventListener('click', () => { readForm(); S.view = b.dataset.view; submit(true); }));
  $$('#presets button').forEach((b) => b.addEventListener('click', () => {
    readForm();
    S.t = b.dataset.preset;
    if (S.t === 'abs' && !S.from) {
      const now = Date.now(), off = S.tz === 'utc' ? 0 : new Date().getTimezoneOffset() * 60000;
      S.to = new Date(now - off).toISOString().slice(0, 16); S.from = new Date(now - off - 86400000).toISOString().slice(0, 16);
    }
    if (S.t === 'abs') syncForm(); else submit(true);
  }));
  $$('#tz button').forEach((b) => b.addEventListener('click', () => { readForm(); S.tz = b.dataset.tz; syncForm(); writeURL(false); renderChart(); renderTable(); renderFlows(); }));
  $$('#units button').forEach((b) => b.addEventListener('click', () => { S.units = b.dataset.units; syncForm(); writeURL(false); renderTable(); renderFlows(); }));
  $('#run').addEventListener('click', () => { readForm(); S.page = '0'; submit(true); });
  $('#cancel').addEventListener('click', cancelQuery);
  $('#filter').addEventListener('input', () => { scheduleFilterCheck(); readForm(); syncForm(); });
  $('#filter').addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey || !e.shiftKey)) { e.preventDefault(); $('#run').click(); } });
  document.addEventListener('keydown', (e) => { if (e.key === 'Enter' && e.ctrlKey) $('#run').click(); });
  $('#form').addEventListener('change', (e) => {
    if (e.target.id === 'filter') return;
    readForm();
    if (['g-style', 'g-other'].includes(e.target.id) && lastGraph) { syncForm(); writeURL(false); if (e.target.id === 'g-style') renderChart(); else submit(false); return; }
    if (e.target.closest('#l-cols')) { syncForm(); writeURL(false); renderFlows(); return; }
    syncForm();
  });
  loadSaved();
  $('#save').addEventListener('click', saveFilter);
  $('#saved').addEventListener('change', (e) => {
    e.stopPropagation();
    const f = savedLib.find((x) => x.name === $('#saved').value);
    $('#unsave').disabled = !f;
    if (f) { $('#filter').value = f.text; readForm(); syncForm(); scheduleFilterCheck(); }
  });
  $('#unsave').addEventListener('click', deleteSaved);
  $('#x-auto').addEventListener('change', () => { if (S.view === 'exporters') submit(false); });
  $('#copycmd').addEventListener('click', () => { navigator.clipboard && navigator.clipboard.writeText($('#cmd').textContent); });
  $('#g-png').addEventListener('click', () => {
    if (!plot) return;
    const src = plot.ctx.canvas, c = document.createElement('canvas');
    c.width = src.width; c.height = src.height;
    const x = c.getContext('2d'); x.fillStyle = '#fff'; x.fillRect(0, 0, c.width, c.height); x.drawImage(src, 0, 0);
    const a = el('a', { href: c.toDataURL('image/png'), download: `flowlens-graph-${stamp()}.png` }); document.body.append(a); a.click(); a.remove();
  });
  $('#g-svg').addEventListener('click', () => { if (lastGraph && lastGraph.x.length) download(`flowlens-graph-${stamp()}.svg`, graphSVG(), 'image/svg+xml'); });
  $('#g-csv').addEventListener('click', () => { if (lastGraph) exportCSV(graphParams(), `flowlens-graph-${stamp()}.csv`, lastGraph.r); });
  $('#t-csv').addEventListener('click', () => exportCSV(tableParams(), `flowlens-table-${stamp()}.csv`, lastTable && lastTable.r));
  $('#t-json').addEventListener('click', () => { if (lastTable) download(`flowlens-table-${stamp()}.json`, JSON.stringify(lastTable.r, null, 1), 'application/json'); });
  $('#l-csv').addEventListener('click', () => exportCSV(flowParams(), `flowlens-flows-${stamp()}.csv`, lastFlows));
  $('#l-prev').addEventListener('click', () => { S.page = String(Math.max(0, Number(S.page) - 1)); submit(true); });
  $('#l-next').addEventListener('click', () => { S.page = String(Number(S.page) + 1); submit(true); });
  window.addEventListener('popstate', () => { readURL(); submit(false); });
  let rt = null;
  window.addEventListener('resize', () => { clearTimeout(rt); rt = setTimeout(renderChart, 150); });
  submit(false);
}
init();
