// The Replicate SDK through the gateway, against a provider that answers at
// once (sync) and one that must be polled (async).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import Replicate from 'replicate';

import { startStack } from './harness.mjs';

const LIMIT = { timeout: 60_000 };
const SETUP = { timeout: 30_000 };

for (const mode of ['sync', 'async']) {
  describe(`Replicate SDK through the gateway, ${mode} provider`, () => {
    let stack;
    let replicate;
    before(async () => {
      stack = await startStack({ latency: '400ms', async: mode === 'async' });
      replicate = new Replicate({ auth: 'client-key', baseUrl: `${stack.gateway.url}/replicate` });
    }, SETUP);
    after(() => stack?.stop(), SETUP);

    test('run twice with a seed makes one upstream create', LIMIT, async () => {
      await stack.fake.reset();
      const input = { prompt: `a red fox (${mode})`, seed: 42 };
      const first = await replicate.run('acme/painter', { input });
      assert.ok(Array.isArray(first) && first.length === 1, `final output, got ${JSON.stringify(first)}`);
      assert.match(String(first[0]), /^https?:\/\//);
      const second = await replicate.run('acme/painter', { input });
      assert.deepEqual(second.map(String), first.map(String));
      assert.equal((await stack.fake.stats()).total_creates, 1);
    });

    test('the output URL serves the image', LIMIT, async () => {
      const output = await replicate.run('acme/painter', { input: { prompt: 'download', seed: 8 } });
      // Re-hosted: the gateway's own permanent URL, not the provider's.
      assert.match(String(output[0]), new RegExp(`^${stack.gateway.url}/files/[0-9a-f]{64}\\.png$`));
      const res = await fetch(String(output[0]));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/png');
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.equal(bytes.subarray(1, 4).toString(), 'PNG');
    });

    test('predictions.create + wait works through the gateway', LIMIT, async () => {
      await stack.fake.reset();
      const created = await replicate.predictions.create({
        model: 'acme/painter',
        input: { prompt: `create and wait (${mode})`, seed: 7 },
      });
      assert.ok(created.id, JSON.stringify(created));
      const done = await replicate.wait(created, { interval: 100 });
      assert.equal(done.status, 'succeeded', JSON.stringify(done));
      assert.ok(Array.isArray(done.output) && done.output.length === 1, JSON.stringify(done));
      assert.equal((await stack.fake.stats()).total_creates, 1);

      // The same request again is a cache hit with the same output.
      const again = await replicate.run('acme/painter', {
        input: { prompt: `create and wait (${mode})`, seed: 7 },
      });
      assert.deepEqual(again.map(String), done.output.map(String));
      assert.equal((await stack.fake.stats()).total_creates, 1);
    });

    test('unseeded runs are not cached', LIMIT, async () => {
      await stack.fake.reset();
      const a = await replicate.run('acme/painter', { input: { prompt: 'no seed' } });
      const b = await replicate.run('acme/painter', { input: { prompt: 'no seed' } });
      assert.notDeepEqual(a.map(String), b.map(String));
      assert.equal((await stack.fake.stats()).total_creates, 2);
    });
  });
}
