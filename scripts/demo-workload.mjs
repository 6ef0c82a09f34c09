#!/usr/bin/env node
// The demo workload behind scripts/demo.sh: drives repeats, concurrent
// duplicates and unseeded requests through a running gencache gateway that
// fronts the bundled fake provider, then prints what was served from cache and
// how many upstream calls that saved.
//
//   node scripts/demo-workload.mjs --gateway http://127.0.0.1:8080 --fake http://127.0.0.1:PORT
//
// Counts are taken as differences of GET /v1/stats and GET /_fake/stats before
// and after the workload, so the script may run against a gateway that has
// already served traffic. Exit status: 0 when the report is consistent, 1 when
// a request failed or the client's, the gateway's and the provider's numbers
// disagree, 2 on bad arguments or an unreachable gateway or provider.
// Needs only Node 18+ (global fetch).

import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";

const kRequestTimeoutMs = 60_000;
const kStatuses = ["hit", "near-hit", "coalesced", "miss", "bypass", "error"];

function Usage(exit_code) {
  const text = `usage: node scripts/demo-workload.mjs --gateway URL --fake URL [--json]

  --gateway URL   base URL of the gencache gateway (mounts /skytells/ and /replicate/)
  --fake URL      base URL of the fake provider (for GET /_fake/stats)
  --json          also print the raw numbers as one JSON line at the end
`;
  (exit_code === 0 ? process.stdout : process.stderr).write(text);
  process.exit(exit_code);
}

function ParseArgs(argv) {
  const args = { gateway: "", fake: "", json: false };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === "-h" || a === "--help") Usage(0);
    else if (a === "--json") args.json = true;
    else if ((a === "--gateway" || a === "--fake") && i + 1 < argv.length) {
      args[a.slice(2)] = argv[++i].replace(/\/+$/, "");
    } else {
      process.stderr.write(`demo-workload: unknown or incomplete argument '${a}'\n`);
      Usage(2);
    }
  }
  if (!args.gateway || !args.fake) Usage(2);
  return args;
}

async function GetJson(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(kRequestTimeoutMs) });
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return response.json();
}

// One generation request through the gateway. Never throws: a transport
// failure is recorded as status "error" so the report can account for it.
async function Send(gateway, phase, path, body) {
  const start = performance.now();
  let http_status = 0;
  let status = "error";
  let detail = "";
  let text = "";
  try {
    const response = await fetch(gateway + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(kRequestTimeoutMs),
    });
    text = await response.text();
    http_status = response.status;
    const header = (response.headers.get("x-gencache-status") || "").toLowerCase();
    if (!response.ok) {
      detail = `HTTP ${response.status}: ${text.slice(0, 200)}`;
    } else if (!kStatuses.includes(header)) {
      detail = `unexpected X-Gencache-Status '${header}'`;
    } else {
      status = header;
    }
  } catch (e) {
    detail = e.message;
  }
  return { phase, path, status, http_status, detail, body: text, ms: performance.now() - start };
}

// The three phases. The prompts are fixed, so a second run against the same
// data (demo.sh --keep-data) is served from the cache the first run filled.
const kRepeatPrompts = [
  "a lighthouse on a cliff at dusk, oil painting",
  "an astronaut riding a horse on the moon",
  "a bowl of ramen in studio lighting, 50mm",
  "a watercolor fox in a snowy forest",
  "isometric pixel-art city block at night",
  "a cozy reading nook with a cat, warm light",
];
const kRepeatsPerPrompt = 3;
// [index into kRepeatPrompts, prompt]: the first five say the same thing as
// their phase-1 prompt (near-hits), the last three do not (misses).
const kNearVariants = [
  [0, "A lighthouse on a cliff at dusk, oil painting."],
  [1, "an astronaut riding a horse on the moon!"],
  [2, "bowl of ramen in studio lighting, 50mm"],
  [3, "A Watercolor fox in a snowy forest"],
  [5, "a cozy reading nook with a cat, warm lihgt"],
  [0, "a lighthouse on a cliff at dawn, oil painting"],
  [3, "a watercolor wolf in a snowy forest"],
  [4, "isometric pixel-art city block at noon"],
];
const kNearHitsExpected = 5;
const kConcurrentPerPrompt = 25;
const kUnseeded = 5;

async function RunPhases(gateway) {
  const phases = [];

  // 1. Repeats: each seeded prompt three times in a row; the first is a miss,
  // the others are served from cache.
  let t0 = performance.now();
  const repeats = [];
  for (const [i, prompt] of kRepeatPrompts.entries()) {
    for (let r = 0; r < kRepeatsPerPrompt; ++r) {
      repeats.push(
        await Send(gateway, "repeats", "/skytells/predict", {
          model: "truefusion-pro",
          input: { prompt, seed: 1000 + i },
        }),
      );
    }
  }
  phases.push({
    name: "repeats",
    title: `1. repeats (${kRepeatPrompts.length} seeded prompts x${kRepeatsPerPrompt}, Skytells)`,
    results: repeats,
    wall_ms: performance.now() - t0,
  });

  // 2. Concurrent duplicates: two bursts of identical seeded requests sent at
  // once; each burst should cost one upstream call.
  t0 = performance.now();
  const burst = [];
  for (let i = 0; i < kConcurrentPerPrompt; ++i) {
    burst.push(
      Send(gateway, "concurrent", "/replicate/predictions", {
        version: "demo",
        input: { prompt: "a red paper crane on a desk, macro photo", seed: 7 },
      }),
    );
    burst.push(
      Send(gateway, "concurrent", "/replicate/models/acme/painter/predictions", {
        input: { prompt: "a stained glass window of a whale", seed: 42 },
      }),
    );
  }
  phases.push({
    name: "concurrent",
    title: `2. concurrent duplicates (2 prompts x${kConcurrentPerPrompt} at once, Replicate)`,
    results: await Promise.all(burst),
    wall_ms: performance.now() - t0,
  });

  // 3. Unseeded: the same prompt without a seed may give a different image
  // each time, so gencache passes every one through (status bypass).
  t0 = performance.now();
  const unseeded = [];
  for (let i = 0; i < kUnseeded; ++i) {
    unseeded.push(
      await Send(gateway, "unseeded", "/skytells/predict", {
        model: "truefusion-pro",
        input: { prompt: "a surprise me landscape" },
      }),
    );
  }
  phases.push({
    name: "unseeded",
    title: `3. unseeded (same prompt x${kUnseeded}, no seed, Skytells)`,
    results: unseeded,
    wall_ms: performance.now() - t0,
  });

  // 4. Near-duplicates: the phase-1 prompts reworded (case, punctuation,
  // articles, a typo, tag order) with the same seed are served the earlier
  // image; prompts that look alike but mean something else are not.
  t0 = performance.now();
  const near = [];
  for (const [i, prompt] of kNearVariants) {
    near.push(
      await Send(gateway, "near", "/skytells/predict", {
        model: "truefusion-pro",
        input: { prompt, seed: 1000 + i },
      }),
    );
  }
  phases.push({
    name: "near",
    title: `4. reworded / different prompts (${kNearVariants.length}, same seeds as 1.)`,
    results: near,
    wall_ms: performance.now() - t0,
  });
  return phases;
}

function Count(results) {
  const c = Object.fromEntries(kStatuses.map((s) => [s, 0]));
  for (const r of results) c[r.status] += 1;
  return c;
}

function Median(values) {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function FormatMs(ms) {
  if (ms === null) return "-";
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

function Pad(value, width, left = false) {
  const s = String(value);
  return left ? s.padEnd(width) : s.padStart(width);
}

function Percent(part, whole) {
  return whole === 0 ? "0.0%" : `${((100 * part) / whole).toFixed(1)}%`;
}

function all_count(phases) {
  return phases.reduce((n, p) => n + p.results.length, 0);
}

async function Main() {
  const args = ParseArgs(process.argv.slice(2));

  let gateway_before;
  let fake_before;
  let spend_before;
  try {
    gateway_before = await GetJson(`${args.gateway}/v1/stats`);
    spend_before = (await GetJson(`${args.gateway}/v1/spend/summary?group_by=model`)).total;
    fake_before = await GetJson(`${args.fake}/_fake/stats`);
  } catch (e) {
    process.stderr.write(`demo-workload: cannot read stats: ${e.message}\n`);
    process.exit(2);
  }

  const phases = await RunPhases(args.gateway);
  const gateway_after = await GetJson(`${args.gateway}/v1/stats`);
  const fake_after = await GetJson(`${args.fake}/_fake/stats`);
  const gw = {};
  for (const k of ["hits", "near_hits", "misses", "coalesced", "bypass", "errors", "upstream_creates"]) {
    gw[k] = gateway_after[k] - gateway_before[k];
  }
  const fake_creates = fake_after.total_creates - fake_before.total_creates;
  // Spend events are written in batches: wait (bounded) until all are in.
  let spend_after = spend_before;
  for (let i = 0; i < 50; i++) {
    spend_after = (await GetJson(`${args.gateway}/v1/spend/summary?group_by=model`)).total;
    if (spend_after.requests - spend_before.requests >= all_count(phases)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const spent_usd = spend_after.cost_usd - spend_before.cost_usd;
  const saved_usd = spend_after.saved_usd - spend_before.saved_usd;

  const all = phases.flatMap((p) => p.results);
  const total = Count(all);
  const sent = all.length;
  const reached = total.miss + total.bypass;
  const saved = sent - fake_creates;

  // ---- report ----
  const out = [];
  const line = (s = "") => out.push(s);
  const kTitle = 62;
  line("gencache demo report");
  line("====================");
  line(
    `${Pad("phase", kTitle, true)} ${Pad("sent", 5)} ${Pad("hit", 5)} ${Pad("near", 5)} ${Pad("coal.", 5)} ` +
      `${Pad("miss", 5)} ${Pad("bypass", 6)} ${Pad("error", 5)} ${Pad("time", 8)}`,
  );
  const Row = (title, c, n, wall) =>
    line(
      `${Pad(title, kTitle, true)} ${Pad(n, 5)} ${Pad(c.hit, 5)} ${Pad(c["near-hit"], 5)} ${Pad(c.coalesced, 5)} ` +
        `${Pad(c.miss, 5)} ${Pad(c.bypass, 6)} ${Pad(c.error, 5)} ` +
        `${Pad(wall === null ? "" : `${(wall / 1000).toFixed(2)} s`, 8)}`,
    );
  for (const p of phases) Row(p.title, Count(p.results), p.results.length, p.wall_ms);
  Row("total", total, sent, phases.reduce((a, p) => a + p.wall_ms, 0));
  line();
  const kLabel = 44;
  const Fact = (label, value) => line(`  ${Pad(label, kLabel, true)} ${value}`);
  Fact("requests sent", sent);
  Fact("served from cache (hit)", `${total.hit}`);
  Fact("reworded prompt, earlier image (near-hit)", `${total["near-hit"]}`);
  Fact("joined an in-flight call (coalesced)", `${total.coalesced}`);
  Fact("reached the provider (miss + bypass)", `${reached}  (${total.miss} + ${total.bypass})`);
  line();
  Fact("upstream calls without gencache", `${sent}  (one per request)`);
  Fact("upstream calls made (provider's count)", `${fake_creates}`);
  Fact("upstream calls saved", `${saved}  (${Percent(saved, sent)})`);
  line();
  Fact("spent at the provider", `$${spent_usd.toFixed(2)}  (price table; unlisted models at $0.04)`);
  Fact("saved by gencache", `$${saved_usd.toFixed(2)}  (${Percent(saved_usd, saved_usd + spent_usd)} of $${(saved_usd + spent_usd).toFixed(2)})`);
  line();
  const latency = (status) => Median(all.filter((r) => r.status === status).map((r) => r.ms));
  line(
    `  median latency: hit ${FormatMs(latency("hit"))}, coalesced ${FormatMs(latency("coalesced"))}, ` +
      `miss ${FormatMs(latency("miss"))}, bypass ${FormatMs(latency("bypass"))}`,
  );
  line(
    `  (the fake provider takes ${fake_after.config?.latency_ms ?? "?"} ms per prediction; ` +
      `a coalesced request waits for the call it joined)`,
  );

  // ---- consistency ----
  const problems = [];
  for (const r of all) {
    if (r.status === "error") problems.push(`${r.phase} ${r.path}: ${r.detail}`);
  }
  const pairs = [
    ["hit", "hits"],
    ["near-hit", "near_hits"],
    ["miss", "misses"],
    ["coalesced", "coalesced"],
    ["bypass", "bypass"],
  ];
  for (const [client, server] of pairs) {
    if (total[client] !== gw[server]) {
      problems.push(
        `client saw ${total[client]} '${client}' responses, gateway counted ${gw[server]} ${server}`,
      );
    }
  }
  if (fake_creates > reached) {
    problems.push(
      `provider saw ${fake_creates} creates, more than the ${reached} requests that reached it`,
    );
  } else if (fake_creates !== reached) {
    problems.push(`provider saw ${fake_creates} creates, expected one per miss/bypass (${reached})`);
  }
  if (gw.upstream_creates !== fake_creates) {
    problems.push(
      `gateway counted ${gw.upstream_creates} upstream creates, provider saw ${fake_creates}`,
    );
  }
  if (total["near-hit"] !== kNearHitsExpected) {
    problems.push(
      `expected ${kNearHitsExpected} near-hits among the reworded prompts, got ${total["near-hit"]}`,
    );
  }
  if (total.hit + total["near-hit"] + total.coalesced + reached + total.error !== sent) {
    problems.push("the statuses do not add up to the requests sent");
  }
  if (total.bypass !== kUnseeded) {
    problems.push(`expected all ${kUnseeded} unseeded requests to bypass the cache`);
  }
  // Re-hosting: answers name the gateway's own /files URLs, whose bytes hash
  // to their names, instead of the provider's expiring URLs.
  const answer = all.find((r) => r.status === "miss" && r.body.includes("/files/"));
  const url = answer ? /"(https?:\/\/[^"]+\/files\/([0-9a-f]{64})[^"]*)"/.exec(answer.body) : null;
  if (!url) {
    problems.push("no answer names a re-hosted /files/ URL");
  } else {
    const response = await fetch(url[1], { signal: AbortSignal.timeout(kRequestTimeoutMs) });
    const bytes = Buffer.from(await response.arrayBuffer());
    const sha = createHash("sha256").update(bytes).digest("hex");
    if (response.status !== 200 || sha !== url[2]) {
      problems.push(`re-hosted ${url[1]} answered ${response.status} with bytes hashing to ${sha}`);
    } else {
      line();
      Fact("outputs re-hosted, e.g.", `${url[1]}`);
      Fact("", `(${bytes.length} bytes whose SHA-256 is the name; the provider's URL expires)`);
    }
  }
  line();
  if (problems.length === 0) {
    line("  consistent: client, gateway (/v1/stats) and provider (/_fake/stats) agree");
  } else {
    line("  INCONSISTENT:");
    for (const p of problems.slice(0, 20)) line(`    - ${p}`);
    if (problems.length > 20) line(`    ... and ${problems.length - 20} more`);
  }
  process.stdout.write(out.join("\n") + "\n");

  if (args.json) {
    const summary = {
      sent,
      statuses: total,
      phases: Object.fromEntries(
        phases.map((p) => [p.name, { sent: p.results.length, ...Count(p.results) }]),
      ),
      gateway: gw,
      upstream_calls: fake_creates,
      saved,
      spent_usd,
      saved_usd,
      median_ms: Object.fromEntries(kStatuses.slice(0, 4).map((s) => [s, latency(s)])),
      consistent: problems.length === 0,
    };
    process.stdout.write(JSON.stringify(summary) + "\n");
  }
  process.exit(problems.length === 0 ? 0 : 1);
}

Main().catch((e) => {
  process.stderr.write(`demo-workload: ${e.stack || e.message}\n`);
  process.exit(2);
});
