// The OpenAI SDK through the gateway: unseeded image generations pass
// through to the provider every time.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import OpenAI from 'openai';

import { startStack } from './harness.mjs';

const LIMIT = { timeout: 60_000 };
const SETUP = { timeout: 30_000 };

let stack;
before(async () => {
  stack = await startStack({ latency: '50ms' });
}, SETUP);
after(() => stack?.stop(), SETUP);

test('images.generate passes through and is not cached', LIMIT, async () => {
  await stack.fake.reset();
  const openai = new OpenAI({
    apiKey: 'client-key',
    baseURL: `${stack.gateway.url}/openai`,
    maxRetries: 0,
  });
  const req = { model: 'dall-e-2', prompt: 'a watercolor harbour', n: 1, size: '256x256' };
  const a = await openai.images.generate(req);
  const b = await openai.images.generate(req);
  assert.equal(a.data.length, 1);
  assert.equal(b.data.length, 1);
  assert.match(a.data[0].url, /^https?:\/\//);
  assert.notEqual(a.data[0].url, b.data[0].url);
  const stats = await stack.fake.stats();
  assert.equal(stats.creates.openai, 2);
  assert.equal(stats.total_creates, 2);

  const { response } = await openai.images.generate(req).withResponse();
  assert.notEqual(response.headers.get('x-gencache-status'), 'hit');
  assert.equal((await stack.fake.stats()).creates.openai, 3);
});
