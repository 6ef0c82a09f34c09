// Near-duplicate matching with the providers' SDKs: a reworded prompt is
// served the earlier output without an upstream call; a prompt that looks
// alike but means something else is not.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import OpenAI from 'openai';
import Replicate from 'replicate';

import { startStack } from './harness.mjs';

const LIMIT = { timeout: 60_000 };
const SETUP = { timeout: 30_000 };

describe('near-duplicate prompts through the gateway', () => {
  let stack;
  before(async () => {
    stack = await startStack({ latency: '100ms' }, 'near_duplicate: {enabled: true}');
  }, SETUP);
  after(() => stack?.stop(), SETUP);

  // Entries are indexed just after they are answered.
  async function waitForIndex(entries) {
    for (let i = 0; i < 200; i++) {
      const stats = await (await fetch(`${stack.gateway.url}/v1/stats`)).json();
      if (stats.near_duplicate_entries >= entries) return;
      await sleep(25);
    }
    throw new Error(`the index never held ${entries} prompts`);
  }

  test('Replicate: a reworded prompt is a near-hit, a changed colour is not', LIMIT, async () => {
    await stack.fake.reset();
    const replicate = new Replicate({ auth: 'k', baseUrl: `${stack.gateway.url}/replicate` });
    const first = await replicate.run('acme/painter', {
      input: { prompt: 'A red fox in the snow', seed: 3 },
    });
    await waitForIndex(1);
    const reworded = await replicate.run('acme/painter', {
      input: { prompt: 'a red fox in the snwo', seed: 3 },
    });
    assert.deepEqual(reworded.map(String), first.map(String));
    assert.equal((await stack.fake.stats()).total_creates, 1);

    const different = await replicate.run('acme/painter', {
      input: { prompt: 'a blue fox in the snow', seed: 3 },
    });
    assert.notDeepEqual(different.map(String), first.map(String));
    assert.equal((await stack.fake.stats()).total_creates, 2);
  });

  test('OpenAI: headers say near-hit, with the similarity and the matched key', LIMIT, async () => {
    await stack.fake.reset();
    const openai = new OpenAI({ apiKey: 'k', baseURL: `${stack.gateway.url}/openai` });
    const params = { model: 'dall-e-3', prompt: 'two cats on a sofa, watercolor', size: '1024x1024', seed: 9 };
    const indexed = (await (await fetch(`${stack.gateway.url}/v1/stats`)).json())
      .near_duplicate_entries;
    const first = await openai.images.generate(params).withResponse();
    assert.equal(first.response.headers.get('x-gencache-status'), 'miss');
    const before = (await stack.fake.stats()).total_creates;
    await waitForIndex(indexed + 1);
    const near = await openai.images
      .generate({ ...params, prompt: 'Two cats on a sofa - watercolor.' })
      .withResponse();
    assert.equal(near.response.headers.get('x-gencache-status'), 'near-hit');
    assert.equal(near.response.headers.get('x-gencache-matched-key'),
                 first.response.headers.get('x-gencache-key'));
    assert.ok(Number(near.response.headers.get('x-gencache-similarity')) > 0.5);
    assert.deepEqual(near.data.data, first.data.data);

    const three = await openai.images
      .generate({ ...params, prompt: 'three cats on a sofa, watercolor' })
      .withResponse();
    assert.equal(three.response.headers.get('x-gencache-status'), 'miss');
    assert.equal((await stack.fake.stats()).total_creates, before + 1);
  });
});
