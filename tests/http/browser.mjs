// tests/http/browser.mjs — the web UI in Debian's Chromium via playwright-core.
//
// Usage: node tests/http/browser.mjs BASE_URL OUT_DIR
// Prints PASS/FAIL lines like the other tests; screenshots go to OUT_DIR.
// The server is started (and stopped by PID) by test_browser.sh.
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(root, 'web', 'package.json'));
const { chromium } = require('playwright-core');
const [base, out, base2] = process.argv.slice(2);

let failed = 0;
const pass = (n) => console.log(`PASS ${n}`);
const fail = (n, why) => { failed++; console.log(`FAIL ${n}: ${why}`); };
async function step(name, fn) {
  try { await fn(); pass(name); } catch (e) { fail(name, (e && e.message ? e.message : String(e)).split('\n')[0]); }
}
function assert(c, msg) { if (!c) throw new Error(msg); }
// nearest-rank percentile, as the page computes it
function stats(v) {
  const s = [...v].sort((a, b) => a - b);
  return { max: s[s.length - 1], p95: s[Math.max(0, Math.ceil(0.95 * s.length) - 1)], avg: v.reduce((a, b) => a + b, 0) / v.length, min: s[0] };
}
const close = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

const profile = mkdtempSync(join(tmpdir(), 'fl-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  acceptDownloads: true,
  viewport: { width: 1366, height: 768 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const page = ctx.pages()[0] || await ctx.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
// every request must stay on the server: the page works offline
const foreign = [];
page.on('request', (r) => { if (!r.url().startsWith(base) && !(base2 && r.url().startsWith(base2)) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) foreign.push(r.url()); });
const isQuery = (r) => r.url().includes('/api/v1/query') && r.request().method() === 'POST';
// a query whose request body passes test(body): the page may still be
// answering an earlier question (after a reload, say) when a step clicks
const queryWhere = (test) => (r) => {
  if (!isQuery(r)) return false;
  try { return test(JSON.parse(r.request().postData() || '{}')); } catch { return false; }
};
const shot = (name) => page.screenshot({ path: join(out, name) });

let graphResp = null;
await step('load page and draw a top-N graph', async () => {
  const wait = page.waitForResponse(isQuery, { timeout: 60000 });
  await page.goto(`${base}/#view=graph&dim=dstport&top=5&metric=bytes&step=1h`);
  const r = await wait;
  assert(r.status() === 200, `query status ${r.status()}`);
  graphResp = await r.json();
  await page.waitForSelector('#legend td.name', { timeout: 30000 });
  await page.waitForSelector('#chart canvas');
  assert(graphResp.op === 'topseries', 'op ' + graphResp.op);
  assert((await page.textContent('#cmd')).includes('--topseries dstport/bytes'), 'CLI command');
  await shot('graph-1366x768.png');
});

await step('legend values equal the API', async () => {
  const series = graphResp.result.series;
  const rows = await page.$$eval('#legend tr', (trs) => trs.slice(1).map((tr) => ({
    name: tr.querySelector('td.name').dataset.series,
    vals: Object.fromEntries(Array.from(tr.querySelectorAll('td[data-k]')).map((td) => [td.dataset.k, Number(td.dataset.raw)])),
    text: tr.innerText,
  })));
  assert(rows.length === series.length, `${rows.length} legend rows, ${series.length} series`);
  assert(series.length === 6 && series[5].name === 'Other', 'top 5 + Other');
  series.forEach((s, i) => {
    assert(rows[i].name === s.name, `row ${i} name ${rows[i].name} != ${s.name}`);
    const want = stats(s.values);
    for (const k of ['max', 'p95', 'avg', 'min']) assert(close(rows[i].vals[k], want[k]), `${s.name} ${k}: ${rows[i].vals[k]} != ${want[k]}`);
    assert(/[0-9]/.test(rows[i].text), 'legend row shows numbers');
  });
});

await step('hover shows time, values and share', async () => {
  const box = await page.locator('#chart .u-over').boundingBox();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.8);
  await page.waitForSelector('#tip:not([hidden])', { timeout: 5000 });
  const tip = await page.textContent('#tip');
  assert(/\d{4}-\d\d-\d\d \d\d:\d\d/.test(tip), 'time in tooltip: ' + tip);
  assert(/%/.test(tip), 'share in tooltip');
  const cur = await page.$$eval('#legend td.cur', (tds) => tds.map((t) => t.textContent));
  assert(cur.every((t) => t.length > 0), 'at-cursor column filled');
  await shot('graph-hover.png');
  await page.mouse.move(5, 5);
});

await step('export CSV, PNG and SVG of the graph', async () => {
  let [dl] = await Promise.all([page.waitForEvent('download'), page.click('#g-csv')]);
  const csv = readFileSync(await dl.path(), 'utf8').trim().split('\n');
  const series = graphResp.result.series;
  assert(csv[0] === 'time,' + series.map((s) => s.name).join(','), 'CSV header ' + csv[0]);
  assert(csv.length === series[0].values.length + 1, `CSV rows ${csv.length}`);
  // the CSV is the engine's (same as flowlens query -o csv): values equal the JSON
  const row = csv[1].split(',');
  assert(close(Number(row[1]), series[0].values[0]), `CSV ${row[1]} != ${series[0].values[0]}`);
  [dl] = await Promise.all([page.waitForEvent('download'), page.click('#g-png')]);
  const png = readFileSync(await dl.path());
  assert(png.subarray(1, 4).toString() === 'PNG' && png.length > 5000, 'PNG file');
  [dl] = await Promise.all([page.waitForEvent('download'), page.click('#g-svg')]);
  const svg = readFileSync(await dl.path(), 'utf8');
  assert(svg.startsWith('<svg') && (svg.match(/<polygon/g) || []).length === series.length, 'SVG with one area per series');
  assert(series.every((s) => svg.includes('>' + s.name + '<')), 'SVG legend names');
});

await step('bad filter is underlined at its position', async () => {
  const caps = await (await page.request.get(`${base}/api/v1/capabilities`)).json();
  const bad = caps.filter.available ? 'proto tcp and dst prot 443' : 'proto tcp and dst port 443';
  await page.fill('#filter', bad);
  await page.waitForSelector('#fmirror mark', { timeout: 10000 });
  const api = await (await page.request.post(`${base}/api/v1/filter`, { data: { filter: bad } })).json();
  const want = bad.slice(api.error.offset).split(/\s/)[0];
  const mark = await page.textContent('#fmirror mark');
  assert(mark === want, `underlined "${mark}", API offset ${api.error.offset} ("${want}")`);
  const msg = await page.textContent('#ferr');
  assert(msg.includes(api.error.message), 'message shown: ' + msg);
  if (caps.filter.available) assert(want === 'prot', 'the bad keyword is underlined');
  else assert(msg.includes('filter module not built yet'), 'placeholder message: ' + msg);
  const style = await page.$eval('#fmirror mark', (m) => getComputedStyle(m).textDecorationLine + ' ' + getComputedStyle(m).textDecorationStyle);
  assert(style.includes('underline') && style.includes('wavy'), 'wavy underline: ' + style);
  await shot('filter-error.png');
  await page.fill('#filter', '');
});

await step('saved filter library on the server: save, reload, apply, delete', async () => {
  const text = 'proto udp and dst port 53';
  await page.fill('#filter', text);
  page.once('dialog', (d) => d.accept('dns'));
  const put = page.waitForResponse((r) => r.url().endsWith('/api/v1/filters/dns') && r.request().method() === 'PUT');
  await page.click('#save');
  assert([200, 201].includes((await put).status()), 'PUT status');
  // stored on the server, not in the browser
  const saved = await (await page.request.get(`${base}/api/v1/filters/dns`)).json();
  assert(saved.text === text, 'server has the text: ' + JSON.stringify(saved));
  await page.evaluate(() => localStorage.clear());
  await page.fill('#filter', '');
  // reload: the library comes back from the server
  await page.reload();
  await page.waitForSelector('#saved option[value=dns]', { state: 'attached', timeout: 10000 });
  await page.selectOption('#saved', 'dns');
  assert((await page.inputValue('#filter')) === text, 'saved filter loaded');
  // apply it: the query runs with that filter and matches the API's count
  let wait = page.waitForResponse(queryWhere((b) => b.filter === text), { timeout: 60000 });
  await page.click('#run');
  const r1 = await (await wait).json();
  assert(r1.filter === text && r1.matched > 0 && r1.matched < r1.scanned, `applied: ${r1.filter} ${r1.matched}/${r1.scanned}`);
  // and by name, as FlowGraph's %filters% macros: @include dns
  await page.fill('#filter', '@include dns');
  wait = page.waitForResponse(queryWhere((b) => b.filter === '@include dns'), { timeout: 60000 });
  await page.click('#run');
  const r2 = await (await wait).json();
  // the same count as the saved text over r2's own window (a relative
  // window moves between two requests)
  const r3 = await (await page.request.post(`${base}/api/v1/query`, { data: {
    op: 'summary', window: `${r2.window.start}..${r2.window.end}`, window_mode: r2.window.mode, filter: text } })).json();
  assert(r2.filter === '@include dns' && r2.matched > 0 && r2.matched === r3.matched, `@include: ${r2.matched} != ${r3.matched}`);
  const caps = await (await page.request.get(`${base}/api/v1/capabilities`)).json();
  assert((await page.textContent('#cmd')).includes('--filters-dir ' + caps.saved_filters.dir), 'CLI names the library: ' + await page.textContent('#cmd'));
  await page.selectOption('#saved', 'dns');
  await shot('saved-filter-1366x768.png');
  // a bad filter is not saved, and the editor underlines it
  await page.fill('#filter', 'proto udp and prot 53');
  page.once('dialog', (d) => d.accept('broken'));
  await page.click('#save');
  await page.waitForSelector('#status.err', { timeout: 10000 });
  assert((await page.textContent('#status')).includes('Not saved'), 'not saved message');
  assert((await page.request.get(`${base}/api/v1/filters/broken`)).status() === 404, 'bad filter not stored');
  // delete
  await page.fill('#filter', '');
  await page.selectOption('#saved', 'dns');
  page.once('dialog', (d) => d.accept());
  const del = page.waitForResponse((r) => r.url().endsWith('/api/v1/filters/dns') && r.request().method() === 'DELETE');
  await page.click('#unsave');
  assert((await del).status() === 200, 'DELETE status');
  await page.waitForFunction(() => !Array.from(document.querySelectorAll('#saved option')).some((o) => o.value === 'dns'), null, { timeout: 10000 });
  assert((await page.request.get(`${base}/api/v1/filters/dns`)).status() === 404, 'deleted on the server');
  await page.fill('#filter', '');
  wait = page.waitForResponse(isQuery, { timeout: 60000 });
  await page.click('#run');
  await wait;
});

await step('drill down from the legend adds to the filter', async () => {
  const first = graphResp.result.series[0].name;
  const wait = page.waitForResponse((r) => r.url().includes('/api/v1/query'), { timeout: 30000 });
  await page.click('#legend tr:nth-child(2) td.name');
  await wait;
  const f = await page.inputValue('#filter');
  assert(f === `dst port ${first}`, 'filter after drill-down: ' + f);
  assert(decodeURIComponent(page.url()).includes(`filter=dst+port+${first}`) || page.url().includes('filter=dst%20port'), 'filter in URL: ' + page.url());
  const caps = await (await page.request.get(`${base}/api/v1/capabilities`)).json();
  if (!caps.filter.available) {
    await page.waitForSelector('#status.err');
    assert((await page.textContent('#status')).includes('filter module not built yet'), 'placeholder error shown');
  }
  await shot('drill-down.png');
  await page.fill('#filter', '');
});

await step('table view: stats, sort, units, JSON download', async () => {
  const wait = page.waitForResponse(queryWhere((b) => b.op === 'stats'), { timeout: 60000 });
  await page.click('#tabs button[data-view=table]');
  const r = await (await wait).json();
  await page.waitForSelector('#table td.key');
  const n = await page.$$eval('#table tr', (t) => t.length - 1);
  assert(n === r.result.rows.length && n === 20, `table rows ${n}`);
  const keys = await page.$$eval('#table td.key', (t) => t.map((x) => x.textContent));
  assert(keys[0] === r.result.rows[0].key, 'first key equals API');
  // sort by flows (descending)
  await page.click('#table th:has-text("Flows")');
  const flows = await page.$$eval('#table tr td:nth-child(2)', (t) => t.map((x) => Number(x.dataset.raw)));
  assert(flows.every((v, i) => i === 0 || flows[i - 1] >= v), 'sorted by flows');
  await page.click('#units button[data-units=raw]');
  const b = await page.$eval('#table tr:nth-child(2) td:nth-child(5)', (t) => [t.textContent, t.dataset.raw]);
  assert(b[0] === b[1], 'raw units show the integer: ' + b);
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#t-json')]);
  const j = JSON.parse(readFileSync(await dl.path(), 'utf8'));
  assert(j.result.rows.length === 20, 'JSON download');
  await page.click('#units button[data-units=si]');
  await shot('table-1366x768.png');
});

await step('table CSV download equals the engine CSV', async () => {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#t-csv')]);
  const csv = readFileSync(await dl.path(), 'utf8');
  assert(csv.startsWith('ts,te,td,pr,val,fl,flP'), 'nfdump -o csv header: ' + csv.slice(0, 40));
});

await step('flows view with paging; state in the URL', async () => {
  let wait = page.waitForResponse(isQuery, { timeout: 60000 });
  await page.click('#tabs button[data-view=flows]');
  let r = await (await wait).json();
  await page.waitForSelector('#flows td');
  let n = await page.$$eval('#flows tr', (t) => t.length - 1);
  assert(n === 100 && r.result.length === 100, `flow rows ${n}`);
  await shot('flows-1366x768.png');
  wait = page.waitForResponse(isQuery, { timeout: 60000 });
  await page.click('#l-next');
  r = await (await wait).json();
  assert(r.offset === 100, 'offset 100');
  assert(page.url().includes('page=1') && page.url().includes('view=flows'), 'URL ' + page.url());
  // reload: the URL alone restores the view and page
  wait = page.waitForResponse(isQuery, { timeout: 60000 });
  await page.reload();
  r = await (await wait).json();
  assert(r.op === 'list' && r.offset === 100, 'restored from URL');
  assert((await page.textContent('#l-page')) === 'page 2', 'page label');
});

await step('exporters view without a collector says so', async () => {
  await page.click('#tabs button[data-view=exporters]');
  await page.waitForSelector('#exptable td');
  const n = await page.$$eval('#exptable tr[data-exporter]', (t) => t.length);
  const api = await (await page.request.get(`${base}/api/v1/exporters`)).json();
  assert(n === api.exporters.length && n > 0, `exporter rows ${n}`);
  assert(api.collector.status === 'unavailable', 'demo has no collector: ' + api.collector.status);
  assert((await page.textContent('#expsum')).includes('No collector statistics'), 'notice shown');
  await page.waitForSelector('#expchart canvas');
  // the chart names exporters, not ids
  const legend = await page.textContent('#expchart .u-legend');
  assert(legend.includes(api.exporters[0].name), 'legend names: ' + legend);
  assert(await page.$$eval('#exptable svg.spark', (x) => x.length) === n, 'one sparkline per exporter');
  await shot('exporters-demo-1366x768.png');
});

// every view on a laptop screen and a wide monitor
const VIEWS = [['graph', '#legend td.name'], ['table', '#table td.key'], ['flows', '#flows td'], ['exporters', '#exptable td']];
async function shootViews(b, suffix) {
  for (const [v, sel] of VIEWS) {
    const wait = page.waitForResponse((r) => r.url().includes('/api/v1/'), { timeout: 60000 });
    await page.goto(`${b}/#view=${v}&dim=srcip&top=10&step=1h`);
    await wait;
    await page.waitForSelector(sel, { timeout: 60000 });
    if (v === 'graph' || v === 'exporters') {
      const c = v === 'graph' ? '#chart canvas' : '#expchart canvas';
      await page.waitForFunction((q) => { const e = document.querySelector(q); return e && e.getBoundingClientRect().width > 0; }, c, { timeout: 10000 });
    }
    await page.waitForFunction(() => !document.querySelector('#status').textContent.startsWith('Running'), null, { timeout: 60000 });
    if (v === 'graph' && suffix === '2560x1440') {
      // the chart is re-laid out after a resize: wait (bounded) for it
      const ok = await page.waitForFunction(() => { const c = document.querySelector('#chart canvas'); return c && c.getBoundingClientRect().width > 1800; }, null, { timeout: 10000 }).then(() => true, () => false);
      assert(ok, 'the chart uses the width: ' + await page.$eval('#chart', (c) => c.getBoundingClientRect().width));
    }
    await page.waitForTimeout(300); // resize handler (150 ms) settles
    await shot(`${v}-${suffix}.png`);
  }
}

await step('empty and error states say what happened and what to do', async () => {
  // nothing matches: the chart says so instead of drawing empty axes
  let wait = page.waitForResponse(isQuery, { timeout: 60000 });
  await page.goto(`${base}/#view=graph&dim=srcip&filter=proto+89`);
  await wait;
  await page.waitForSelector('#chart .empty', { timeout: 10000 });
  assert((await page.textContent('#chart .empty')).includes('match the filter'), 'empty chart message');
  await shot('graph-empty-1366x768.png');
  // a fresh page whose first query fails: the panel says why, not blank
  wait = page.waitForResponse(isQuery, { timeout: 60000 });
  await page.goto(`${base}/#view=table&filter=src+ip+10.0.0.300`);
  await page.reload();
  assert((await wait).status() === 400, 'bad filter is a 400');
  await page.waitForSelector('#table .empty.err', { timeout: 10000 });
  assert((await page.textContent('#table .empty.err')).includes('No result'), 'error placeholder');
  assert(await page.$('#status.err') !== null, 'status shows the error');
  await page.waitForSelector('#fmirror mark', { timeout: 10000 });
  await shot('table-error-1366x768.png');
});

if (base2) {
  await step('exporters with the collector statistics: loss and malformed highlighted', async () => {
    await page.goto(`${base2}/#view=exporters&t=24h`);
    await page.waitForSelector('#exptable tr[data-exporter]', { timeout: 60000 });
    const api = await (await page.request.get(`${base2}/api/v1/exporters`)).json();
    const rows = await page.$$eval('#exptable tr[data-exporter]', (t) => t.map((r) => ({ id: r.dataset.exporter, warn: r.classList.contains('warn'), text: r.innerText })));
    const all = api.exporters.concat(api.unmatched.map((u) => ({ id: u.store_id, collector: u })));
    assert(rows.length === all.length, `rows ${rows.length} != ${all.length}`);
    for (const e of all) {
      const row = rows.find((r) => r.id === String(e.id));
      assert(row, 'row for exporter ' + e.id);
      const bad = !!(e.collector && e.collector.health.level !== 'ok');
      assert(row.warn === bad, `exporter ${e.id}: highlighted ${row.warn}, API health ${e.collector && e.collector.health.level}`);
      if (bad) assert(e.collector.health.issues.every((i) => row.text.includes(i)), 'issues shown: ' + row.text);
    }
    const sum = await page.textContent('#expsum');
    if (api.collector.status === 'ok') {
      assert(sum.includes('Kernel drops') && sum.includes(String(api.collector.kernel_drops)), 'server drops shown: ' + sum);
      assert(rows.some((r) => r.warn) === all.some((e) => e.collector && e.collector.health.level !== 'ok'), 'highlight matches');
    } else {
      assert(sum.includes(api.collector.message), 'status message shown: ' + sum);
    }
    await shot('exporters-collector-1366x768.png');
  });
}

await step('every view at 1366x768 and 2560x1440', async () => {
  await shootViews(base, '1366x768');
  await page.setViewportSize({ width: 2560, height: 1440 });
  await shootViews(base, '2560x1440');
  const w = await page.$eval('#expchart canvas', (c) => c.getBoundingClientRect().width);
  assert(w > 1800, 'exporter chart uses the width: ' + w);
  if (base2) {
    await page.goto(`${base2}/#view=exporters`);
    await page.waitForSelector('#exptable tr[data-exporter]', { timeout: 60000 });
    await page.waitForFunction(() => !document.querySelector('#status').textContent.startsWith('Running'), null, { timeout: 60000 });
    await shot('exporters-collector-2560x1440.png');
  }
  await page.setViewportSize({ width: 1366, height: 768 });
});

await step('no page errors, no request leaves the server', async () => {
  assert(errors.length === 0, 'page errors: ' + errors.join('; '));
  assert(foreign.length === 0, 'foreign requests: ' + foreign.join(' '));
});

await ctx.close();
rmSync(profile, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
