// The official SDKs against the fake provider directly (no gateway): the fake
// must speak each provider's wire protocol well enough for its SDK.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import OpenAI from 'openai';
import Replicate from 'replicate';
import { SkytellsClient, SkytellsError } from 'skytells';

import { startFake } from './harness.mjs';

const LIMIT = { timeout: 30_000 };
const SETUP = { timeout: 30_000 };
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function download(url) {
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url}`);
  assert.equal(res.headers.get('content-type'), 'image/png');
  return Buffer.from(await res.arrayBuffer());
}

describe('fake provider, sync mode', () => {
  let fake;
  before(async () => {
    fake = await startFake({ latency: '50ms' });
  }, SETUP);
  after(async () => assert.deepEqual(await fake?.stop(), { code: 0, signal: null }), SETUP);

  test('Skytells SDK predict gets a finished prediction with a PNG output', LIMIT, async () => {
    const client = new SkytellsClient('sk-test', { baseUrl: `${fake.url}/skytells/v1` });
    const req = { model: 'truefusion', input: { prompt: 'a lighthouse', seed: 7 } };
    const a = await client.predict(req);
    assert.equal(a.status, 'succeeded');
    assert.equal(a.output.length, 1);
    const b = await client.predict(req);
    assert.notEqual(a.output[0], b.output[0], 'every prediction has its own URL');
    const bytes = await download(a.output[0]);
    assert.ok(bytes.subarray(0, 8).equals(PNG_SIGNATURE));
    assert.ok(bytes.equals(await download(b.output[0])), 'seeded: same bytes');

    const got = await client.getPrediction(a.id);
    assert.equal(got.id, a.id);
    const models = await client.listModels();
    assert.ok(Array.isArray(models) && models.length > 0);
  });

  test('Skytells SDK surfaces the fake\'s auth error', LIMIT, async () => {
    const client = new SkytellsClient(undefined, { baseUrl: `${fake.url}/skytells/v1` });
    await assert.rejects(
      client.predict({ model: 'truefusion', input: { prompt: 'x' } }),
      (err) => err instanceof SkytellsError && err.httpStatus === 401 && err.errorId === 'UNAUTHORIZED',
    );
  });

  test('Replicate SDK run returns the output URLs', LIMIT, async () => {
    const replicate = new Replicate({ auth: 'r8-test', baseUrl: `${fake.url}/replicate/v1` });
    const output = await replicate.run('acme/painter', { input: { prompt: 'a fox', seed: 3 } });
    assert.ok(Array.isArray(output) && output.length === 1, JSON.stringify(output));
    assert.match(String(output[0]), /^http:\/\/127\.0\.0\.1:\d+\/files\/[0-9a-f]+\.png\?expires=\d+$/);
    const model = await replicate.models.get('acme', 'painter');
    assert.equal(model.owner, 'acme');
  });

  test('OpenAI SDK images.generate returns n URLs, or base64', LIMIT, async () => {
    const openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/openai/v1`, maxRetries: 0 });
    const urls = await openai.images.generate({ model: 'dall-e-2', prompt: 'a cat', n: 2 });
    assert.equal(urls.data.length, 2);
    const b64 = await openai.images.generate({
      model: 'dall-e-2',
      prompt: 'a cat',
      response_format: 'b64_json',
    });
    assert.ok(Buffer.from(b64.data[0].b64_json, 'base64').subarray(0, 8).equals(PNG_SIGNATURE));
    await fake.configure({ fail_next: 1, fail_status: 429 });
    await assert.rejects(openai.images.generate({ prompt: 'x' }), (err) => err.status === 429);
    assert.equal((await openai.images.generate({ prompt: 'x' })).data.length, 1);
  });

  test('stats count creates per provider and reset zeroes them', LIMIT, async () => {
    await fake.reset();
    const replicate = new Replicate({ auth: 'r8-test', baseUrl: `${fake.url}/replicate/v1` });
    await replicate.run('acme/painter', { input: { prompt: 'x' } });
    const stats = await fake.stats();
    assert.equal(stats.total_creates, 1);
    assert.equal(stats.creates.replicate, 1);
  });
});

describe('fake provider, async mode', () => {
  let fake;
  before(async () => {
    fake = await startFake({ latency: '400ms', async: true });
  }, SETUP);
  after(async () => assert.deepEqual(await fake?.stop(), { code: 0, signal: null }), SETUP);

  test('Replicate SDK create + wait polls to the final output', LIMIT, async () => {
    const replicate = new Replicate({ auth: 'r8-test', baseUrl: `${fake.url}/replicate/v1` });
    const created = await replicate.predictions.create({
      model: 'acme/painter',
      input: { prompt: 'a fox', seed: 1 },
    });
    assert.equal(created.status, 'starting');
    const done = await replicate.wait(created, { interval: 100 });
    assert.equal(done.status, 'succeeded');
    assert.equal(done.output.length, 1);
    assert.ok((await fake.stats()).polls.replicate >= 1);
  });

  test('Replicate SDK run (Prefer: wait) gets the output in one call', LIMIT, async () => {
    await fake.reset();
    const replicate = new Replicate({ auth: 'r8-test', baseUrl: `${fake.url}/replicate/v1` });
    const output = await replicate.run('acme/painter', { input: { prompt: 'a fox' } });
    assert.ok(Array.isArray(output) && output.length === 1, JSON.stringify(output));
    assert.equal((await fake.stats()).total_polls, 0);
  });

  test('Skytells await holds; without it the prediction starts pending', LIMIT, async () => {
    const client = new SkytellsClient('sk-test', { baseUrl: `${fake.url}/skytells/v1` });
    const pending = await client.predict({ model: 'truefusion', input: { prompt: 'x' } });
    assert.equal(pending.status, 'pending');
    const held = await client.predict({ model: 'truefusion', input: { prompt: 'x' }, await: true });
    assert.equal(held.status, 'succeeded');
    await new Promise((resolve) => setTimeout(resolve, 450));
    assert.equal((await client.getPrediction(pending.id)).status, 'succeeded');
  });
});
