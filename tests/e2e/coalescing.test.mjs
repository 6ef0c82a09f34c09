// 100 identical seeded requests at once make exactly one upstream call, and
// every caller gets the same result.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import Replicate from 'replicate';
import { SkytellsClient } from 'skytells';

import { startStack } from './harness.mjs';

const LIMIT = { timeout: 90_000 };
const SETUP = { timeout: 30_000 };
const N = 100;

let stack;
before(async () => {
  stack = await startStack({ latency: '300ms' });
}, SETUP);
after(() => stack?.stop(), SETUP);

function assertAllEqual(values, what) {
  const distinct = new Set(values.map((v) => JSON.stringify(v)));
  assert.equal(distinct.size, 1, `${what}: ${distinct.size} distinct results: ${[...distinct].slice(0, 3)}`);
}

test(`${N} concurrent Replicate runs make one upstream create`, LIMIT, async () => {
  await stack.fake.reset();
  const replicate = new Replicate({ auth: 'client-key', baseUrl: `${stack.gateway.url}/replicate` });
  const input = { prompt: 'a crowd of identical foxes', seed: 2024 };
  const outputs = await Promise.all(
    Array.from({ length: N }, () => replicate.run('acme/painter', { input })),
  );
  assert.ok(Array.isArray(outputs[0]) && outputs[0].length === 1, JSON.stringify(outputs[0]));
  assertAllEqual(outputs.map((o) => o.map(String)), 'replicate outputs');
  assert.equal((await stack.fake.stats()).total_creates, 1);
});

test(`${N} concurrent Skytells predicts make one upstream create`, LIMIT, async () => {
  await stack.fake.reset();
  const client = new SkytellsClient('client-key', { baseUrl: `${stack.gateway.url}/skytells` });
  const req = { model: 'truefusion', input: { prompt: 'a crowd of identical owls', seed: 2025 } };
  const results = await Promise.all(Array.from({ length: N }, () => client.predict(req)));
  for (const r of results) assert.equal(r.status, 'succeeded', JSON.stringify(r));
  assertAllEqual(results.map((r) => r.output), 'skytells outputs');
  assert.equal((await stack.fake.stats()).total_creates, 1);
});

test(`${N} concurrent plain requests: one miss, the rest coalesced or hits`, LIMIT, async () => {
  await stack.fake.reset();
  const body = JSON.stringify({ model: 'truefusion', input: { prompt: 'statuses', seed: 3 } });
  const responses = await Promise.all(
    Array.from({ length: N }, () =>
      fetch(`${stack.gateway.url}/skytells/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'client-key' },
        body,
      }),
    ),
  );
  const statuses = responses.map((r) => r.headers.get('x-gencache-status'));
  const bodies = await Promise.all(responses.map((r) => r.json()));
  assert.equal(statuses.filter((s) => s === 'miss').length, 1, statuses.join(','));
  assert.ok(statuses.every((s) => ['miss', 'coalesced', 'hit'].includes(s)), statuses.join(','));
  assert.ok(statuses.includes('coalesced'), 'requests sent together wait for the one in flight');
  assertAllEqual(bodies.map((b) => b.output), 'outputs');
  assert.equal((await stack.fake.stats()).total_creates, 1);
});
