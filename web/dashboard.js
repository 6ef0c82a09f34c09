// The gencache spend dashboard: reads the admin JSON API of the gateway that
// serves it and draws it. Plain browser JavaScript; Chart.js (window.Chart)
// is loaded before this file from /dashboard/vendor/.
//
// The admin key, when the API asks for one (401), is kept in sessionStorage
// only: it lives as long as the tab and never reaches localStorage, a cookie
// or a URL. Every value from the API is written with textContent, never as
// HTML.
'use strict';

(() => {
  const KEY_STORAGE = 'gencache.adminKey';
  const REFRESH_MS = 10_000;
  const DAY_MS = 86_400_000;
  const HOUR_MS = 3_600_000;
  const TOP_ROWS = 10;
  const MAX_MODEL_SERIES = 8;

  const STATUS_ORDER = ['hit', 'near-hit', 'coalesced', 'miss', 'bypass', 'denied', 'error'];
  const STATUS_COLORS = {
    hit: '#1b8a5a',
    'near-hit': '#69c195',
    coalesced: '#2f9bb8',
    miss: '#2f6fdb',
    bypass: '#8a94a8',
    denied: '#c77700',
    error: '#c62f3a',
  };
  const MODEL_COLORS = ['#2f6fdb', '#e07b39', '#8e5bd1', '#2f9bb8', '#c2407a', '#6b8e23',
                        '#b8860b', '#5f6f8f', '#d2a11f', '#3aa17e'];
  const OTHER_COLOR = '#b5bcc9';
  const SAVED_FILL = '#b9dfcc';
  const SAVED_LINE = '#1b8a5a';

  const $ = (id) => document.getElementById(id);

  const state = {
    page: 0,
    pageSize: 25,
    timer: null,
    generation: 0,
    eventsGeneration: 0,
    charts: {},
    modelColors: new Map(),
    locked: false,  // the login form is up; nothing refreshes until a key is given
  };

  class Unauthorized extends Error {}

  // ---- formatting ----------------------------------------------------------

  const usd2 = new Intl.NumberFormat('en-US', {
    style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2,
  });
  const usd4 = new Intl.NumberFormat('en-US', {
    style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 4,
  });
  const usd6 = new Intl.NumberFormat('en-US', {
    style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 6,
  });
  const count = new Intl.NumberFormat('en-US');

  // Whole dollars read as dollars; sub-dollar amounts keep enough digits that
  // a token-priced text request does not show as $0.00.
  function usd(value) {
    const abs = Math.abs(value);
    if (abs >= 1 || abs === 0) return usd2.format(value);
    return (abs >= 0.01 ? usd4 : usd6).format(value);
  }

  function rate(hits, requests) {
    return requests > 0 ? `${((100 * hits) / requests).toFixed(1)}%` : '–';
  }

  // A cache hit takes well under a millisecond: keep a decimal for short times.
  function millis(ms) {
    return ms < 10 ? ms.toFixed(1) : count.format(Math.round(ms));
  }

  // "2026-11-26T13:05:00Z": what the API's from/to take.
  function isoSeconds(ms) {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  function utcMidnight(ms) {
    const d = new Date(ms);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  }

  function untilText(ms) {
    if (ms <= 0) return 'now';
    const minutes = Math.ceil(ms / 60_000);
    const days = Math.floor(minutes / 1440);
    const hours = Math.floor((minutes % 1440) / 60);
    const mins = minutes % 60;
    if (days > 0) return `${days} d ${hours} h`;
    if (hours > 0) return `${hours} h ${mins} min`;
    return `${mins} min`;
  }

  // ---- the time range ------------------------------------------------------

  // The window every panel shows: [from, to) in UTC, ending at the end of the
  // current UTC day so that the query (and the bars) stay the same between
  // refreshes. Days are UTC days, as in budgets and the spend API.
  function currentRange() {
    const now = Date.now();
    const tomorrow = utcMidnight(now) + DAY_MS;
    const choice = $('range').value;
    let from;
    let to = tomorrow;
    if (choice === 'today') {
      from = tomorrow - DAY_MS;
    } else if (choice === '30d') {
      from = tomorrow - 30 * DAY_MS;
    } else if (choice === 'custom') {
      const a = Date.parse($('custom-from').value);
      const b = Date.parse($('custom-to').value);
      if (Number.isNaN(a) || Number.isNaN(b)) throw new Error('Pick both dates of the custom range.');
      if (b < a) throw new Error('The custom range ends before it starts.');
      from = a;
      to = b + DAY_MS;  // the "to" day is included
    } else {
      from = tomorrow - 7 * DAY_MS;
    }
    const bucket = to - from <= 2 * DAY_MS ? 'hour' : 'day';
    return { from: isoSeconds(from), to: isoSeconds(to), fromMs: from, toMs: to, bucket };
  }

  function rangeLabel(range) {
    const last = new Date(range.toMs - 1).toISOString().slice(0, 10);
    const first = range.from.slice(0, 10);
    return first === last ? first : `${first} to ${last}`;
  }

  // Every bucket key in the range, in the API's spelling ("2026-11-26" or
  // "2026-11-26T13:00:00Z"), so empty periods still get a slot.
  function bucketKeys(range) {
    const keys = [];
    const step = range.bucket === 'hour' ? HOUR_MS : DAY_MS;
    for (let t = range.fromMs; t < range.toMs && keys.length < 2000; t += step) {
      keys.push(range.bucket === 'hour' ? isoSeconds(t) : isoSeconds(t).slice(0, 10));
    }
    return keys;
  }

  function bucketLabel(key, bucket) {
    if (bucket === 'hour') return key.length >= 16 ? key.slice(11, 16) : key;
    const d = new Date(`${key.slice(0, 10)}T00:00:00Z`);
    if (Number.isNaN(d.getTime())) return key;
    return d.toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
  }

  // ---- the API -------------------------------------------------------------

  async function api(path, params = {}) {
    const url = new URL(path, window.location.origin);
    for (const [name, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, value);
    }
    const headers = { Accept: 'application/json' };
    const key = sessionStorage.getItem(KEY_STORAGE);
    if (key) headers.Authorization = `Bearer ${key}`;
    const res = await fetch(url, { headers, cache: 'no-store', credentials: 'omit' });
    if (res.status === 401) throw new Unauthorized();
    let body = null;
    try {
      body = await res.json();
    } catch {
      // not JSON: reported below by status
    }
    if (!res.ok) {
      const message = body && body.error && body.error.message;
      throw new Error(`${url.pathname}: ${message || `HTTP ${res.status}`}`);
    }
    if (body === null) throw new Error(`${url.pathname}: the answer is not JSON`);
    return body;
  }

  // ---- login ---------------------------------------------------------------

  function showLogin(message) {
    state.locked = true;
    stopTimer();
    $('content').hidden = true;
    $('range-form').hidden = true;
    $('login').hidden = false;
    $('forget-key').hidden = true;
    $('login-error').hidden = !message;
    $('login-error').textContent = message || '';
    $('admin-key').value = '';
    $('admin-key').focus();
  }

  function unauthorized() {
    const hadKey = sessionStorage.getItem(KEY_STORAGE) !== null;
    sessionStorage.removeItem(KEY_STORAGE);
    showLogin(hadKey ? 'The gateway rejected that key.' : '');
  }

  function onLogin(event) {
    event.preventDefault();
    const key = $('admin-key').value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORAGE, key);
    $('admin-key').value = '';
    state.locked = false;
    $('login').hidden = true;
    refreshAll();
  }

  function forgetKey() {
    sessionStorage.removeItem(KEY_STORAGE);
    showLogin('');
  }

  // ---- notices and errors --------------------------------------------------

  function setNotice(message) {
    $('notice').hidden = !message;
    $('notice').textContent = message || '';
  }

  function setPanelError(id, error) {
    const el = $(id);
    el.hidden = !error;
    el.textContent = error ? String(error.message || error) : '';
  }

  // ---- totals and rankings -------------------------------------------------

  function setValue(id, value, text) {
    const el = $(id);
    el.textContent = text;
    el.dataset.value = String(value);
  }

  function renderTotals(total, range) {
    const totals = $('totals');
    totals.dataset.from = range.from;
    totals.dataset.to = range.to;
    setValue('total-cost', total.cost_usd, usd(total.cost_usd));
    setValue('total-saved', total.saved_usd, usd(total.saved_usd));
    setValue('total-requests', total.requests, count.format(total.requests));
    setValue('total-upstream', total.upstream_calls, count.format(total.upstream_calls));
    setValue('total-hits', total.hits, count.format(total.hits));
    setValue('total-hit-rate', total.requests > 0 ? total.hits / total.requests : '',
             rate(total.hits, total.requests));
  }

  function cell(tr, text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    tr.appendChild(td);
    return td;
  }

  function emptyRow(tbody, columns, text) {
    const tr = document.createElement('tr');
    tr.className = 'empty';
    const td = cell(tr, text);
    td.colSpan = columns;
    tbody.appendChild(tr);
  }

  function byCost(a, b) {
    return b.cost_usd - a.cost_usd || b.requests - a.requests || (a.key < b.key ? -1 : 1);
  }

  function renderRanking(tableId, rows) {
    const tbody = $(tableId).tBodies[0];
    tbody.replaceChildren();
    const top = [...rows].sort(byCost).slice(0, TOP_ROWS);
    if (top.length === 0) {
      emptyRow(tbody, 5, 'No requests in this range');
      return;
    }
    const maxCost = Math.max(...top.map((r) => r.cost_usd));
    for (const row of top) {
      const tr = document.createElement('tr');
      tr.dataset.testid = 'ranking-row';
      tr.dataset.key = row.key;
      const key = cell(tr, row.key, 'key');
      key.title = row.key;
      const share = document.createElement('span');
      share.className = 'share';
      share.style.width = `${maxCost > 0 ? (100 * row.cost_usd) / maxCost : 0}%`;
      key.appendChild(share);
      cell(tr, usd(row.cost_usd), 'num').dataset.value = String(row.cost_usd);
      cell(tr, usd(row.saved_usd), 'num good').dataset.value = String(row.saved_usd);
      cell(tr, count.format(row.requests), 'num').dataset.value = String(row.requests);
      cell(tr, rate(row.hits, row.requests), 'num');
      tbody.appendChild(tr);
    }
  }

  // Keeps the current choice even when the new range has no such key.
  function fillSelect(id, keys) {
    const select = $(id);
    const current = select.value;
    const values = [...new Set([...keys, ...(current ? [current] : [])])].sort();
    const options = [new Option('all', '')];
    for (const v of values) options.push(new Option(v, v));
    select.replaceChildren(...options);
    select.value = current;
  }

  // ---- budgets -------------------------------------------------------------

  const SCOPE_NAMES = {
    daily: 'Daily (all)',
    user_daily: 'User daily',
    model_daily: 'Model daily',
    monthly: 'Monthly (all)',
  };

  function renderBudgets(scopes) {
    const box = $('budgets');
    box.replaceChildren();
    if (scopes.length === 0) {
      const p = document.createElement('p');
      p.className = 'muted';
      p.textContent = 'No budget limits are configured.';
      box.appendChild(p);
      return;
    }
    const now = Date.now();
    for (const s of scopes) {
      // Rounded so that $0.08 of $0.10 reads as the 80 % it is, not 79.99...
      const used =
          s.limit_usd > 0 ? Math.round((1e6 * (s.spent_usd + s.reserved_usd)) / s.limit_usd) / 1e6 : 1;
      const gauge = document.createElement('div');
      gauge.className = `gauge${used >= 1 ? ' full' : used >= 0.8 ? ' warn' : ''}`;
      gauge.dataset.testid = 'budget';
      gauge.dataset.scope = s.scope;
      gauge.dataset.subject = s.subject || '';
      gauge.dataset.spent = String(s.spent_usd);
      gauge.dataset.reserved = String(s.reserved_usd);
      gauge.dataset.limit = String(s.limit_usd);

      const head = document.createElement('div');
      head.className = 'head';
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = (SCOPE_NAMES[s.scope] || s.scope) + (s.subject ? ` · ${s.subject}` : '');
      const pct = document.createElement('span');
      pct.textContent = s.limit_usd > 0 ? `${Math.round(used * 100)}%` : '';
      head.append(name, pct);

      const meter = document.createElement('div');
      meter.className = 'meter';
      meter.setAttribute('role', 'meter');
      meter.setAttribute('aria-valuemin', '0');
      meter.setAttribute('aria-valuemax', String(s.limit_usd));
      meter.setAttribute('aria-valuenow', String(s.spent_usd + s.reserved_usd));
      const clamp = (f) => Math.max(0, Math.min(1, f));
      const spentFrac = s.limit_usd > 0 ? clamp(s.spent_usd / s.limit_usd) : 1;
      const reservedFrac =
          s.limit_usd > 0 ? clamp(s.reserved_usd / s.limit_usd) * (spentFrac < 1 ? 1 : 0) : 0;
      const spent = document.createElement('div');
      spent.className = 'spent';
      spent.style.width = `${100 * spentFrac}%`;
      const reserved = document.createElement('div');
      reserved.className = 'reserved';
      reserved.style.left = `${100 * spentFrac}%`;
      reserved.style.width = `${100 * Math.min(reservedFrac, 1 - spentFrac)}%`;
      meter.append(spent, reserved);

      const detail = document.createElement('div');
      detail.className = 'detail';
      const resets = Date.parse(s.resets_at);
      detail.textContent =
          `${usd(s.spent_usd)} spent + ${usd(s.reserved_usd)} reserved of ${usd(s.limit_usd)}` +
          ` · ${usd(s.remaining_usd)} left · resets in ` +
          (Number.isNaN(resets) ? s.resets_at : `${untilText(resets - now)} (${s.resets_at})`);
      gauge.append(head, meter, detail);
      box.appendChild(gauge);
    }
  }

  // ---- charts --------------------------------------------------------------

  function money(v) {
    return usd(Number(v));
  }

  function chartOptions(yTitle, yFormat) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: 'index', intersect: false },
      plugins: {
        legend: { position: 'bottom', labels: { boxWidth: 12, boxHeight: 12 } },
        tooltip: {
          callbacks: {
            label: (ctx) => `${ctx.dataset.label}: ${yFormat(ctx.parsed.y)}`,
          },
          filter: (item) => item.parsed.y !== 0,
        },
      },
      scales: {
        x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 8 } },
        y: {
          stacked: true,
          beginAtZero: true,
          title: { display: true, text: yTitle },
          ticks: { callback: (v) => yFormat(v), precision: yFormat === money ? undefined : 0 },
        },
      },
    };
  }

  function drawChart(name, canvasId, labels, datasets, yTitle, yFormat) {
    const existing = state.charts[name];
    if (existing) {
      existing.data.labels = labels;
      existing.data.datasets = datasets;
      existing.update('none');
      return;
    }
    state.charts[name] = new window.Chart($(canvasId), {
      type: 'bar',
      data: { labels, datasets },
      options: chartOptions(yTitle, yFormat),
    });
  }

  // A model keeps its colour for the life of the page, across refreshes and
  // ranges, so a glance finds it again.
  function modelColor(model) {
    if (!state.modelColors.has(model)) {
      state.modelColors.set(model, MODEL_COLORS[state.modelColors.size % MODEL_COLORS.length]);
    }
    return state.modelColors.get(model);
  }

  // rows: the timeseries API's [{t, model, cache_status, requests, cost_usd,
  // saved_usd}], one per (bucket, model, status).
  function renderTimeseries(rows, range) {
    const keys = bucketKeys(range);
    for (const r of rows) if (!keys.includes(r.t)) keys.push(r.t);
    keys.sort();
    const index = new Map(keys.map((k, i) => [k, i]));
    const labels = keys.map((k) => bucketLabel(k, range.bucket));
    const zeros = () => keys.map(() => 0);
    const per = range.bucket === 'hour' ? 'hour' : 'day';
    $('spend-title').textContent = `Spend per ${per} by model, and saving`;
    $('status-title').textContent = `Cache status mix per ${per}`;

    // Spend: the costliest models get their own colour, the rest one "other".
    const modelCost = new Map();
    for (const r of rows) modelCost.set(r.model, (modelCost.get(r.model) || 0) + r.cost_usd);
    const models = [...modelCost.entries()]
        .filter(([, cost]) => cost > 0)
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .map(([m]) => m);
    const shown = models.slice(0, MAX_MODEL_SERIES);
    const series = new Map(shown.map((m) => [m, zeros()]));
    const other = zeros();
    const saved = zeros();
    for (const r of rows) {
      const i = index.get(r.t);
      (series.get(r.model) || other)[i] += r.cost_usd;
      saved[i] += r.saved_usd;
    }
    const spendSets = shown.map((m) => ({
      label: m,
      data: series.get(m),
      backgroundColor: modelColor(m),
      stack: 'spend',
    }));
    if (models.length > shown.length) {
      spendSets.push({ label: 'other models', data: other, backgroundColor: OTHER_COLOR, stack: 'spend' });
    }
    spendSets.push({
      label: 'saved',
      data: saved,
      backgroundColor: SAVED_FILL,
      borderColor: SAVED_LINE,
      borderWidth: 1,
      stack: 'saved',
    });
    drawChart('spend', 'spend-chart', labels, spendSets, 'USD', money);

    // Status mix: requests per bucket, stacked by cache status.
    const statuses = new Map();
    for (const r of rows) {
      if (!statuses.has(r.cache_status)) statuses.set(r.cache_status, zeros());
      statuses.get(r.cache_status)[index.get(r.t)] += r.requests;
    }
    const order = (s) => (STATUS_ORDER.includes(s) ? STATUS_ORDER.indexOf(s) : STATUS_ORDER.length);
    const statusSets = [...statuses.keys()]
        .sort((a, b) => order(a) - order(b) || (a < b ? -1 : 1))
        .map((s) => ({
          label: s,
          data: statuses.get(s),
          backgroundColor: STATUS_COLORS[s] || OTHER_COLOR,
          stack: 'requests',
        }));
    drawChart('status', 'status-chart', labels, statusSets, 'requests', (v) => count.format(v));
  }

  // ---- recent requests -----------------------------------------------------

  function renderEvents(events, hasNext) {
    const tbody = $('events').tBodies[0];
    tbody.replaceChildren();
    if (events.length === 0) emptyRow(tbody, 10, 'No requests match');
    for (const e of events) {
      const tr = document.createElement('tr');
      tr.dataset.testid = 'event-row';
      tr.dataset.requestId = e.request_id;
      tr.dataset.status = e.cache_status;
      cell(tr, e.ts.replace('T', ' ').replace(/(\.\d+)?Z$/, ''));
      const status = document.createElement('span');
      status.className = 'status';
      status.textContent = e.cache_status;
      status.style.background = STATUS_COLORS[e.cache_status] || OTHER_COLOR;
      cell(tr, '').appendChild(status);
      cell(tr, e.model, 'key').title = e.model;
      cell(tr, e.user, 'key').title = e.user;
      cell(tr, usd(e.cost_usd), 'num');
      cell(tr, e.saving_usd ? usd(e.saving_usd) : '', 'num good');
      cell(tr, e.upstream_ms ? millis(e.upstream_ms) : '', 'num');
      cell(tr, millis(e.total_ms), 'num');
      cell(tr, e.provider);
      cell(tr, e.request_id, 'id');
      tbody.appendChild(tr);
    }
    const first = state.page * state.pageSize;
    $('page-info').textContent =
        events.length ? `rows ${first + 1}–${first + events.length}` : state.page ? 'no more rows' : '';
    $('page-prev').disabled = state.page === 0;
    $('page-next').disabled = !hasNext;
    $('events').dataset.page = String(state.page);
  }

  // One more row than the page shows tells whether an older page exists.
  async function loadEvents(range) {
    const generation = ++state.eventsGeneration;
    $('events').dataset.loading = 'true';
    try {
      const answer = await api('/v1/spend/events', {
        from: range.from,
        to: range.to,
        model: $('filter-model').value,
        user: $('filter-user').value,
        status: $('filter-status').value,
        limit: state.pageSize + 1,
        offset: state.page * state.pageSize,
      });
      if (generation !== state.eventsGeneration) return;
      const events = answer.events.slice(0, state.pageSize);
      renderEvents(events, answer.events.length > state.pageSize);
      setPanelError('events-error', null);
    } finally {
      if (generation === state.eventsGeneration) delete $('events').dataset.loading;
    }
  }

  // ---- refresh -------------------------------------------------------------

  function stopTimer() {
    if (state.timer !== null) clearTimeout(state.timer);
    state.timer = null;
  }

  function scheduleRefresh() {
    stopTimer();
    if (state.locked || !$('auto-refresh').checked || document.hidden) return;
    state.timer = setTimeout(refreshAll, REFRESH_MS);
  }

  // Loads every panel. Panels fail on their own (a missing endpoint shows
  // its error in its panel); a 401 anywhere brings up the login form.
  async function refreshAll() {
    stopTimer();
    if (state.locked) return;
    const generation = ++state.generation;
    let range;
    try {
      range = currentRange();
    } catch (error) {
      setNotice(error.message);
      return;
    }
    document.body.dataset.loading = 'true';
    const common = { from: range.from, to: range.to };
    const tasks = {
      models: api('/v1/spend/summary', { ...common, group_by: 'model' }),
      users: api('/v1/spend/summary', { ...common, group_by: 'user' }),
      series: api('/v1/spend/timeseries', { ...common, bucket: range.bucket }),
      budgets: api('/v1/budgets'),
      events: loadEvents(range),
    };
    const names = Object.keys(tasks);
    const settled = await Promise.allSettled(Object.values(tasks));
    if (generation !== state.generation) return;
    const result = Object.fromEntries(names.map((n, i) => [n, settled[i]]));
    delete document.body.dataset.loading;

    if (settled.some((s) => s.status === 'rejected' && s.reason instanceof Unauthorized)) {
      unauthorized();
      return;
    }
    $('content').hidden = false;
    $('range-form').hidden = false;
    $('forget-key').hidden = sessionStorage.getItem(KEY_STORAGE) === null;
    $('range-label').textContent = rangeLabel(range);

    const failures = [];
    const ok = (name) => {
      if (result[name].status === 'fulfilled') return true;
      failures.push(result[name].reason);
      return false;
    };
    if (ok('models')) {
      const summary = result.models.value;
      renderTotals(summary.total, range);
      renderRanking('top-models', summary.rows);
      fillSelect('filter-model', summary.rows.map((r) => r.key));
    }
    if (ok('users')) {
      renderRanking('top-users', result.users.value.rows);
      fillSelect('filter-user', result.users.value.rows.map((r) => r.key));
    }
    const chartsReady = typeof window.Chart === 'function';
    if (!chartsReady) {
      const error = new Error('The chart library did not load (/dashboard/vendor/chart.umd.js).');
      setPanelError('spend-error', error);
      setPanelError('status-error', error);
    } else if (ok('series')) {
      renderTimeseries(result.series.value.rows, range);
      setPanelError('spend-error', null);
      setPanelError('status-error', null);
    } else {
      setPanelError('spend-error', result.series.reason);
      setPanelError('status-error', result.series.reason);
    }
    if (ok('budgets')) {
      renderBudgets(result.budgets.value.scopes);
      setPanelError('budgets-error', null);
    } else {
      setPanelError('budgets-error', result.budgets.reason);
    }
    if (!ok('events')) setPanelError('events-error', result.events.reason);

    const network = failures.find((f) => f instanceof TypeError);
    setNotice(network ? `Could not reach the gateway (${network.message}); showing the last data.` : '');
    if (!network && failures.length === 0) {
      $('updated').textContent = `${new Date().toISOString().slice(11, 19)} UTC`;
    }
    document.body.dataset.ready = 'true';
    scheduleRefresh();
  }

  async function reloadEvents() {
    try {
      await loadEvents(currentRange());
    } catch (error) {
      if (error instanceof Unauthorized) unauthorized();
      else setPanelError('events-error', error);
    }
  }

  // ---- wiring --------------------------------------------------------------

  function init() {
    if (typeof window.Chart === 'function') {
      window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
      window.Chart.defaults.color = '#4a5263';
    }
    const today = new Date().toISOString().slice(0, 10);
    $('custom-from').value = today;
    $('custom-to').value = today;

    $('login-form').addEventListener('submit', onLogin);
    $('forget-key').addEventListener('click', forgetKey);
    $('range').addEventListener('change', () => {
      const custom = $('range').value === 'custom';
      $('custom-range').hidden = !custom;
      state.page = 0;
      refreshAll();
    });
    $('range-form').addEventListener('submit', (event) => {
      event.preventDefault();
      state.page = 0;
      refreshAll();
    });
    $('refresh-now').addEventListener('click', refreshAll);
    $('auto-refresh').addEventListener('change', scheduleRefresh);
    $('filters').addEventListener('submit', (event) => event.preventDefault());
    for (const id of ['filter-model', 'filter-user', 'filter-status']) {
      $(id).addEventListener('change', () => {
        state.page = 0;
        reloadEvents();
      });
    }
    $('page-size').addEventListener('change', () => {
      state.pageSize = Number($('page-size').value);
      state.page = 0;
      reloadEvents();
    });
    $('page-prev').addEventListener('click', () => {
      state.page = Math.max(0, state.page - 1);
      reloadEvents();
    });
    $('page-next').addEventListener('click', () => {
      state.page += 1;
      reloadEvents();
    });
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && !state.locked && $('auto-refresh').checked) refreshAll();
      else if (document.hidden) stopTimer();
    });
    refreshAll();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
