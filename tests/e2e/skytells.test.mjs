// The Skytells SDK through the gateway: seeded predictions are cached,
// unseeded ones always reach the provider.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { SkytellsClient } from 'skytells';

import { startStack } from './harness.mjs';

const LIMIT = { timeout: 60_000 };
const SETUP = { timeout: 30_000 };

let stack;
let client;
before(async () => {
  stack = await startStack({ latency: '50ms' });
  client = new SkytellsClient('client-key', { baseUrl: `${stack.gateway.url}/skytells` });
}, SETUP);
after(() => stack?.stop(), SETUP);

test('a repeated seeded predict is served from the cache', LIMIT, async () => {
  await stack.fake.reset();
  const req = { model: 'truefusion', input: { prompt: 'a lighthouse at dusk', seed: 1234 } };
  const first = await client.predict(req);
  assert.equal(first.status, 'succeeded', JSON.stringify(first));
  assert.equal(first.output?.length, 1, JSON.stringify(first));
  const second = await client.predict(req);
  assert.equal(second.status, 'succeeded');
  assert.deepEqual(second.output, first.output);
  assert.equal((await stack.fake.stats()).total_creates, 1);

  const third = await fetch(`${stack.gateway.url}/skytells/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'client-key' },
    body: JSON.stringify(req),
  });
  assert.equal(third.status, 200);
  assert.equal(third.headers.get('x-gencache-status'), 'hit');
  assert.deepEqual((await third.json()).output, first.output);
  assert.equal((await stack.fake.stats()).total_creates, 1);
});

test('the cache key ignores input key order', LIMIT, async () => {
  await stack.fake.reset();
  await client.predict({ model: 'truefusion', input: { prompt: 'key order', seed: 5, width: 512 } });
  const reordered = await client.predict({
    model: 'truefusion',
    input: { width: 512, seed: 5, prompt: 'key order' },
  });
  assert.equal(reordered.status, 'succeeded');
  assert.equal((await stack.fake.stats()).total_creates, 1);
});

test('unseeded predicts always reach the provider', LIMIT, async () => {
  await stack.fake.reset();
  const req = { model: 'truefusion', input: { prompt: 'a lighthouse at dusk' } };
  const outputs = [];
  for (let i = 0; i < 3; i++) {
    const p = await client.predict(req);
    assert.equal(p.status, 'succeeded');
    outputs.push(p.output[0]);
  }
  assert.equal((await stack.fake.stats()).total_creates, 3);
  assert.equal(new Set(outputs).size, 3, 'three different images');

  const plain = await fetch(`${stack.gateway.url}/skytells/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'client-key' },
    body: JSON.stringify(req),
  });
  assert.equal(plain.headers.get('x-gencache-status'), 'bypass');
  assert.equal((await stack.fake.stats()).total_creates, 4);
});

test('a failed upstream call is not cached', LIMIT, async () => {
  for (const mode of ['status', 'prediction']) {
    await stack.fake.reset();
    await stack.fake.configure({ fail_next: 1, fail_mode: mode, fail_status: 500 });
    const req = { model: 'truefusion', input: { prompt: `failure ${mode}`, seed: 99 } };
    // The gateway may pass the failure on or retry once; either way the
    // failure must not be what the next identical request gets.
    await client.predict(req).catch(() => undefined);
    const next = await client.predict(req);
    assert.equal(next.status, 'succeeded', `${mode}: ${JSON.stringify(next)}`);
    assert.equal(next.output?.length, 1);
    assert.equal((await stack.fake.stats()).total_creates, 2, mode);
  }
});
