// The spend dashboard (GET /dashboard) in a real headless browser: Debian's
// chromium driven by playwright-core. After a known workload through the
// gateway (misses, hits, unseeded requests, an upstream error and a request
// denied by the daily budget) the page must show the admin API's numbers,
// draw its charts, filter and page its request table as the API does, ask
// for the admin key only because the API answered 401, and keep that key in
// session storage only. A full-page screenshot is kept in
// $GENCACHE_E2E_ARTIFACTS (default: $TMPDIR/gencache-e2e-artifacts).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { PROVIDER_KEYS, gatewayConfig, requireEnv, startFake } from './harness.mjs';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const ADMIN_ENV = 'E2E_DASHBOARD_ADMIN_KEY';
const ADMIN_KEY = 'adm-e2e-dashboard-5f3c';
const DAILY_LIMIT = 0.1;
const PRICES = { truefusion: 0.02, 'truefusion-pro': 0.04, 'truefusion-edge': 0.01 };
const REPEAT_HITS = 24;  // with the workload's own two hits, more than one page of 25
const ARTIFACTS =
    process.env.GENCACHE_E2E_ARTIFACTS || path.join(os.tmpdir(), 'gencache-e2e-artifacts');
const SCREENSHOT = path.join(ARTIFACTS, 'dashboard.png');

const SETUP = { timeout: 120_000 };
const LIMIT = { timeout: 60_000 };

// ---- the gateway, with an admin key and budgets ----------------------------

const LISTENING = /listening on [^:\s]+:(\d+)/;
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

// harness.mjs starts the gateway with its fixed configuration; this test
// needs an admin key, a trusted user header and budgets on top of it.
async function startGateway(fake, tmp) {
  const dataDir = path.join(tmp, 'data');
  const configPath = path.join(tmp, 'gencache.yaml');
  await writeFile(configPath, [
    gatewayConfig(fake.port, dataDir).trimEnd(),
    'auth:',
    `  admin_key_env: ${ADMIN_ENV}`,
    '  trust_user_header: true',
    'budgets:',
    `  daily_usd: ${DAILY_LIMIT}`,
    '  monthly_usd: 5',
    '  per_model_daily_usd: {truefusion-pro: 1}',
    '',
  ].join('\n'));
  const child = spawn(requireEnv('GENCACHE_BIN'), ['serve', '--config', configPath], {
    env: { ...process.env, ...PROVIDER_KEYS, [ADMIN_ENV]: ADMIN_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
    child.once('error', (error) => {
      children.delete(child);
      resolve({ code: null, signal: null, error });
    });
  });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gencache did not start:\n${output}`)), 15_000);
    const onData = (chunk) => {
      output += chunk.toString();
      const match = LISTENING.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exited.then(({ code, signal, error }) => {
      clearTimeout(timer);
      reject(new Error(`gencache exited (${error?.message ?? `code ${code}, signal ${signal}`}):\n${output}`));
    });
  }).catch((err) => {
    child.kill('SIGKILL');
    throw err;
  });
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    async stop() {
      if (children.has(child)) child.kill('SIGTERM');
      const result = await exited;
      if (result.code !== 0) {
        throw new Error(`gencache exited with code ${result.code}, signal ${result.signal}:\n${output.slice(-4000)}`);
      }
    },
  };
}

// ---- the workload ----------------------------------------------------------

// Each request with the status and cost the gateway must answer it with.
const WORKLOAD = [
  { user: 'alice', model: 'truefusion', prompt: 'a red fox in snow', seed: 11, status: 'miss' },
  { user: 'alice', model: 'truefusion', prompt: 'a red fox in snow', seed: 11, status: 'hit' },
  { user: 'bob', model: 'truefusion', prompt: 'a red fox in snow', seed: 11, status: 'hit' },
  { user: 'bob', model: 'truefusion-pro', prompt: 'a lighthouse at dusk', seed: 12, status: 'miss' },
  // The provider fails this one: its hold is released, it costs nothing.
  { user: 'dave', model: 'truefusion', prompt: 'a broken clock', seed: 13, status: 'error',
    fail: true },
  { user: 'carol', model: 'truefusion-edge', prompt: 'a paper boat', status: 'bypass' },
  { user: 'carol', model: 'truefusion-edge', prompt: 'a paper boat', status: 'bypass' },
  // 0.08 spent of 0.10: the next 0.04 is refused ...
  { user: 'bob', model: 'truefusion-pro', prompt: 'a lighthouse at dawn', seed: 14,
    status: 'denied' },
  // ... while a cached answer is still served.
  ...Array.from({ length: REPEAT_HITS }, () => (
    { user: 'alice', model: 'truefusion', prompt: 'a red fox in snow', seed: 11, status: 'hit' })),
];

function costOf(step) {
  return ['miss', 'bypass'].includes(step.status) ? PRICES[step.model] : 0;
}
function savingOf(step) {
  return ['hit', 'near-hit', 'coalesced'].includes(step.status) ? PRICES[step.model] : 0;
}
const sum = (values) => values.reduce((a, b) => a + b, 0);
const round6 = (v) => Math.round(v * 1e6) / 1e6;

const EXPECTED = {
  requests: WORKLOAD.length,
  hits: WORKLOAD.filter((s) => s.status === 'hit').length,
  upstream_calls: WORKLOAD.filter((s) => ['miss', 'bypass', 'error'].includes(s.status)).length,
  cost_usd: round6(sum(WORKLOAD.map(costOf))),
  saved_usd: round6(sum(WORKLOAD.map(savingOf))),
};

async function generate(gatewayUrl, step) {
  const input = { prompt: step.prompt };
  if (step.seed !== undefined) input.seed = step.seed;
  const res = await fetch(`${gatewayUrl}/skytells/predict`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-api-key': 'client-key',
      'x-gencache-user': step.user,
    },
    body: JSON.stringify({ model: step.model, input }),
  });
  await res.arrayBuffer();
  return { http: res.status, status: res.headers.get('x-gencache-status') };
}

// ---- helpers ---------------------------------------------------------------

let fake;
let gateway;
let tmp;
let context;
let page;
const pageErrors = [];
const consoleErrors = [];
const foreignRequests = [];
let screenshotTaken = false;

async function adminApi(route, params = {}) {
  const url = new URL(route, gateway.url);
  for (const [k, v] of Object.entries(params)) if (v !== '') url.searchParams.set(k, v);
  const res = await fetch(url, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  assert.equal(res.status, 200, `${url}: ${await res.clone().text()}`);
  return res.json();
}

const parseUsd = (text) => Number(text.replace(/[$,]/g, ''));
const parseCount = (text) => Number(text.replace(/,/g, ''));
const closeTo = (a, b, what) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} != ${b}`);

// The range the page shows, as it queried the API.
async function pageRange() {
  const totals = page.getByTestId('totals');
  return { from: await totals.getAttribute('data-from'), to: await totals.getAttribute('data-to') };
}

async function waitForTable() {
  await page.locator('[data-testid="events"]:not([data-loading])').waitFor();
}

async function tableRows() {
  await waitForTable();
  return page.$$eval('[data-testid="event-row"]', (rows) =>
    rows.map((r) => ({ id: r.dataset.requestId, status: r.dataset.status })));
}

async function assertTableMatchesApi(filter, offset = 0) {
  const range = await pageRange();
  const api = await adminApi('/v1/spend/events', {
    ...range, ...filter, limit: 25, offset,
  });
  const rows = await tableRows();
  assert.deepEqual(rows, api.events.map((e) => ({ id: e.request_id, status: e.cache_status })),
                   `table for ${JSON.stringify(filter)} offset ${offset}`);
  return rows;
}

async function assertTotalsMatchApi() {
  const range = await pageRange();
  assert.ok(range.from && range.to, 'the totals name the range they show');
  const { total } = await adminApi('/v1/spend/summary', { group_by: 'model', ...range });
  const read = async (id) => {
    const el = page.getByTestId(id);
    return { text: (await el.textContent()).trim(), value: await el.getAttribute('data-value') };
  };
  for (const [id, field] of [['total-cost', 'cost_usd'], ['total-saved', 'saved_usd']]) {
    const { text, value } = await read(id);
    closeTo(Number(value), total[field], `${id} data-value`);
    closeTo(parseUsd(text), total[field], `${id} text "${text}"`);
  }
  for (const [id, field] of [['total-requests', 'requests'], ['total-hits', 'hits'],
                             ['total-upstream', 'upstream_calls']]) {
    const { text, value } = await read(id);
    assert.equal(Number(value), total[field], `${id} data-value`);
    assert.equal(parseCount(text), total[field], `${id} text "${text}"`);
  }
  const { text } = await read('total-hit-rate');
  assert.equal(text, `${((100 * total.hits) / total.requests).toFixed(1)}%`);
  return total;
}

// ---- setup -----------------------------------------------------------------

before(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the dashboard test needs Debian's chromium ` +
                    '(scripts/install-deps.sh installs it)');
  }
  tmp = await mkdtemp(path.join(os.tmpdir(), 'gencache-e2e-dashboard-'));
  fake = await startFake();
  gateway = await startGateway(fake, tmp);

  for (const [i, step] of WORKLOAD.entries()) {
    if (step.fail) await fake.configure({ fail_next: 1, fail_status: 400, fail_mode: 'status' });
    const got = await generate(gateway.url, step);
    assert.equal(got.status, step.status, `request ${i} (${JSON.stringify(step)}): HTTP ${got.http}`);
    if (step.status === 'denied') assert.equal(got.http, 429);
  }

  context = await chromium.launchPersistentContext(path.join(tmp, 'chromium-profile'), {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    viewport: { width: 1440, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    // The page's first API calls answer 401 by design; anything else is a bug.
    if (message.type() === 'error' && !/status of 401/.test(message.text())) {
      consoleErrors.push(message.text());
    }
  });
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(`${gateway.url}/`) && !url.startsWith('data:')) foreignRequests.push(url);
  });
}, SETUP);

after(async () => {
  // A failed run still leaves a picture of what the page showed.
  if (page && !screenshotTaken) {
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true }).catch(() => undefined);
    console.log(`dashboard screenshot (after a failure): ${SCREENSHOT}`);
  }
  await context?.close();
  const problems = [];
  for (const server of [gateway, fake]) {
    try {
      await server?.stop();
    } catch (err) {
      problems.push(err.message);
    }
  }
  if (tmp) await rm(tmp, { recursive: true, force: true });
  if (problems.length) throw new Error(problems.join('\n'));
}, SETUP);

// ---- the tests -------------------------------------------------------------

test('the API reports the known workload', LIMIT, async () => {
  const { total } = await adminApi('/v1/spend/summary', { group_by: 'model' });
  assert.equal(total.requests, EXPECTED.requests);
  assert.equal(total.hits, EXPECTED.hits);
  assert.equal(total.upstream_calls, EXPECTED.upstream_calls);
  closeTo(total.cost_usd, EXPECTED.cost_usd, 'cost');
  closeTo(total.saved_usd, EXPECTED.saved_usd, 'saved');
});

test('the page asks for the admin key because the API answers 401', LIMIT, async () => {
  const res = await fetch(`${gateway.url}/dashboard`);
  assert.equal(res.status, 200, 'the page itself needs no key');
  assert.match(res.headers.get('content-type'), /^text\/html/);
  assert.equal((await fetch(`${gateway.url}/v1/budgets`)).status, 401);

  await page.goto(`${gateway.url}/dashboard`);
  await page.getByTestId('login').waitFor({ state: 'visible' });
  assert.equal(await page.getByTestId('content').isVisible(), false);

  await page.getByTestId('admin-key').fill('not-the-admin-key');
  await page.getByTestId('login-submit').click();
  await page.getByTestId('login-error').waitFor({ state: 'visible' });
  assert.match(await page.getByTestId('login-error').textContent(), /rejected/);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a rejected key is not kept');

  await page.getByTestId('admin-key').fill(ADMIN_KEY);
  await page.getByTestId('login-submit').click();
  await page.locator('body[data-ready]').waitFor();
  await page.getByTestId('content').waitFor({ state: 'visible' });
  assert.equal(await page.getByTestId('login').isVisible(), false);

  const storage = await page.evaluate(() => ({
    session: Object.fromEntries(Object.entries(sessionStorage)),
    local: localStorage.length,
    cookie: document.cookie,
  }));
  assert.deepEqual(storage, { session: { 'gencache.adminKey': ADMIN_KEY }, local: 0, cookie: '' });
  assert.ok(!page.url().includes(ADMIN_KEY), page.url());
});

test('the totals are the API numbers', LIMIT, async () => {
  const total = await assertTotalsMatchApi();
  assert.equal(total.requests, EXPECTED.requests, 'the 7-day range holds the whole workload');
});

test('top models and users are the API rows, by spend', LIMIT, async () => {
  const range = await pageRange();
  for (const [group, table] of [['model', 'top-models'], ['user', 'top-users']]) {
    const { rows } = await adminApi('/v1/spend/summary', { group_by: group, ...range });
    const expected = [...rows]
        .sort((a, b) => b.cost_usd - a.cost_usd || b.requests - a.requests ||
                        (a.key < b.key ? -1 : 1))
        .map((r) => ({ key: r.key, cost: r.cost_usd, saved: r.saved_usd, requests: r.requests,
                       rate: `${((100 * r.hits) / r.requests).toFixed(1)}%` }));
    const shown = await page.$$eval(`[data-testid="${table}"] [data-testid="ranking-row"]`,
                                    (trs) => trs.map((tr) => ({
                                      key: tr.dataset.key,
                                      cost: Number(tr.cells[1].dataset.value),
                                      saved: Number(tr.cells[2].dataset.value),
                                      requests: Number(tr.cells[3].dataset.value),
                                      rate: tr.cells[4].textContent,
                                    })));
    assert.deepEqual(shown, expected, table);
  }
});

test('every budget scope has a gauge with the API numbers', LIMIT, async () => {
  const { scopes } = await adminApi('/v1/budgets');
  const gauges = await page.$$eval('[data-testid="budget"]', (els) => els.map((el) => ({
    scope: el.dataset.scope,
    subject: el.dataset.subject,
    spent: Number(el.dataset.spent),
    reserved: Number(el.dataset.reserved),
    limit: Number(el.dataset.limit),
    text: el.textContent,
  })));
  assert.deepEqual(gauges.map((g) => `${g.scope}/${g.subject}`),
                   scopes.map((s) => `${s.scope}/${s.subject}`));
  for (const [i, s] of scopes.entries()) {
    closeTo(gauges[i].spent, s.spent_usd, `${s.scope} spent`);
    closeTo(gauges[i].reserved, s.reserved_usd, `${s.scope} reserved`);
    closeTo(gauges[i].limit, s.limit_usd, `${s.scope} limit`);
    assert.match(gauges[i].text, /resets in /);
  }
  const daily = gauges.find((g) => g.scope === 'daily');
  closeTo(daily.spent, EXPECTED.cost_usd, 'daily spent');
  closeTo(daily.limit, DAILY_LIMIT, 'daily limit');
});

test('the charts are drawn from the time series', LIMIT, async () => {
  const range = await pageRange();
  const series = await adminApi('/v1/spend/timeseries', { ...range, bucket: 'day' });
  const byStatus = {};
  for (const r of series.rows) byStatus[r.cache_status] = (byStatus[r.cache_status] ?? 0) + r.requests;

  // Per chart: every dataset's total, and how many pixels of its colour the
  // plot area holds (bars, not the legend).
  const charts = await page.evaluate(() => {
    const hex = (c) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
    const out = {};
    for (const id of ['spend-chart', 'status-chart']) {
      const canvas = document.getElementById(id);
      const chart = window.Chart.getChart(canvas);
      const ctx = canvas.getContext('2d');
      const all = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < all.length; i += 4) if (all[i] > 0) painted += 1;
      const scale = canvas.width / chart.width;
      const a = chart.chartArea;
      const area = ctx.getImageData(Math.round(a.left * scale), Math.round(a.top * scale),
                                    Math.round((a.right - a.left) * scale),
                                    Math.round((a.bottom - a.top) * scale)).data;
      const datasets = chart.data.datasets.map((d) => {
        const color = hex(d.backgroundColor);
        let pixels = 0;
        for (let i = 0; i < area.length; i += 4) {
          if (Math.abs(area[i] - color[0]) <= 3 && Math.abs(area[i + 1] - color[1]) <= 3 &&
              Math.abs(area[i + 2] - color[2]) <= 3 && area[i + 3] === 255) {
            pixels += 1;
          }
        }
        return { label: d.label, stack: d.stack, total: d.data.reduce((x, y) => x + y, 0), pixels };
      });
      out[id] = { painted, datasets };
    }
    return out;
  });

  for (const [id, chart] of Object.entries(charts)) {
    assert.ok(chart.painted > 1000, `${id}: ${chart.painted} painted pixels`);
    for (const d of chart.datasets) {
      if (d.total > 0) assert.ok(d.pixels > 20, `${id}: dataset ${d.label} drew ${d.pixels} pixels`);
    }
  }
  const spend = charts['spend-chart'].datasets;
  closeTo(round6(sum(spend.filter((d) => d.stack === 'spend').map((d) => d.total))),
          EXPECTED.cost_usd, 'spend bars');
  closeTo(round6(sum(spend.filter((d) => d.stack === 'saved').map((d) => d.total))),
          EXPECTED.saved_usd, 'saving bars');
  const models = spend.filter((d) => d.stack === 'spend').map((d) => d.label).sort();
  assert.deepEqual(models, ['truefusion', 'truefusion-edge', 'truefusion-pro'], 'models that cost');

  const statusTotals = Object.fromEntries(
      charts['status-chart'].datasets.map((d) => [d.label, d.total]));
  assert.deepEqual(statusTotals, byStatus);
  const expectedStatuses = {};
  for (const s of WORKLOAD) expectedStatuses[s.status] = (expectedStatuses[s.status] ?? 0) + 1;
  assert.deepEqual(statusTotals, expectedStatuses);

  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  screenshotTaken = true;
  console.log(`dashboard screenshot: ${SCREENSHOT}`);
});

test('filters and pages change the table as the API says', LIMIT, async () => {
  const all = await assertTableMatchesApi({});
  assert.equal(all.length, 25, 'the first page is full');
  assert.equal(await page.getByTestId('page-next').isEnabled(), true);

  await page.getByTestId('filter-status').selectOption('denied');
  const denied = await assertTableMatchesApi({ status: 'denied' });
  assert.equal(denied.length, 1);

  await page.getByTestId('filter-status').selectOption('hit');
  const hits = await assertTableMatchesApi({ status: 'hit' });
  assert.equal(hits.length, 25);
  assert.ok(hits.every((r) => r.status === 'hit'));
  await page.getByTestId('page-next').click();
  const older = await assertTableMatchesApi({ status: 'hit' }, 25);
  assert.equal(older.length, EXPECTED.hits - 25);
  assert.equal(await page.getByTestId('page-next').isEnabled(), false);
  await page.getByTestId('page-prev').click();
  await assertTableMatchesApi({ status: 'hit' });

  await page.getByTestId('filter-status').selectOption('');
  await page.getByTestId('filter-model').selectOption('truefusion-pro');
  const pro = await assertTableMatchesApi({ model: 'truefusion-pro' });
  assert.deepEqual(pro.map((r) => r.status), ['denied', 'miss']);

  await page.getByTestId('filter-model').selectOption('');
  await page.getByTestId('filter-user').selectOption('carol');
  const carol = await assertTableMatchesApi({ user: 'carol' });
  assert.deepEqual(carol.map((r) => r.status), ['bypass', 'bypass']);
  await page.getByTestId('filter-user').selectOption('');
  await assertTableMatchesApi({});
});

test('the today range queries by hour and still matches the API', LIMIT, async () => {
  const before7d = await pageRange();
  await page.getByTestId('range').selectOption('today');
  await page.waitForFunction(
      (from) => document.querySelector('[data-testid="totals"]').dataset.from !== from,
      before7d.from);
  await page.locator('body:not([data-loading])').waitFor();
  const range = await pageRange();
  assert.equal(Date.parse(range.to) - Date.parse(range.from), 86_400_000);
  await assertTotalsMatchApi();
  assert.match(await page.locator('#spend-title').textContent(), /per hour/);
});

test('auto-refresh picks up new requests without a reload', LIMIT, async () => {
  const beforeCount = Number(await page.getByTestId('total-requests').getAttribute('data-value'));
  const got = await generate(gateway.url, WORKLOAD[1]);
  assert.equal(got.status, 'hit');
  await page.waitForFunction(
      (n) => Number(document.querySelector('[data-testid="total-requests"]').dataset.value) === n,
      beforeCount + 1, { timeout: 25_000 });
  await assertTotalsMatchApi();
});

test('the page stayed on the gateway and raised no errors', LIMIT, async () => {
  assert.deepEqual(foreignRequests, [], 'every request goes to the gateway');
  assert.deepEqual(pageErrors, [], 'uncaught page errors');
  assert.deepEqual(consoleErrors, [], 'console errors (CSP violations, failed loads)');
});
