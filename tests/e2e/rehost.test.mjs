// Re-hosting through the gateway with the providers' SDKs: outputs are
// downloaded into the gateway's blob store and clients get permanent /files
// URLs that keep serving the same bytes after the provider's URLs expired.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import Replicate from 'replicate';
import { createClient } from 'skytells';

import { startStack } from './harness.mjs';

const LIMIT = { timeout: 120_000 };
const SETUP = { timeout: 30_000 };

// Fetches `url` and returns the SHA-256 (hex) and length of its body,
// hashing as the bytes arrive.
async function hashOf(url) {
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url}`);
  const hash = createHash('sha256');
  let length = 0;
  for await (const chunk of res.body) {
    hash.update(chunk);
    length += chunk.length;
  }
  return { sha: hash.digest('hex'), length, type: res.headers.get('content-type') };
}

function nameOf(url) {
  return /\/files\/([0-9a-f]{64})(\.[a-z0-9]+)?$/.exec(url)?.[1];
}

// Peak resident memory of a process, in KiB (VmHWM).
async function peakRssKib(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]);
}

describe('re-hosted outputs', () => {
  let stack;
  before(async () => {
    // Provider URLs that expire two seconds after completion.
    stack = await startStack({ latency: '100ms', urlTtl: '2s' });
  }, SETUP);
  after(() => stack?.stop(), SETUP);

  test('gateway URLs outlive the provider URLs, for the first answer and for hits', LIMIT, async () => {
    const replicate = new Replicate({ auth: 'k', baseUrl: `${stack.gateway.url}/replicate` });
    const input = { prompt: 'a lighthouse at dusk', seed: 11 };
    const first = (await replicate.run('acme/painter', { input })).map(String);
    assert.equal(first.length, 1);
    const name = nameOf(first[0]);
    assert.ok(name, `a /files URL, got ${first[0]}`);

    await sleep(2500);  // the provider's URL has expired by now
    const bytes = await hashOf(first[0]);
    assert.equal(bytes.sha, name, 'the name is the SHA-256 of the bytes served');
    assert.equal(bytes.type, 'image/png');

    const hit = (await replicate.run('acme/painter', { input })).map(String);
    assert.deepEqual(hit, first);
    assert.equal((await hashOf(hit[0])).sha, name);
    assert.equal((await stack.fake.stats()).total_creates, 1);
  });

  test('a 200 MB output is re-hosted with bounded gateway memory', LIMIT, async () => {
    const size = 200 * 1024 * 1024;
    await stack.fake.configure({ output_bytes: size, url_ttl_ms: 600_000 });
    try {
      const before = await peakRssKib(stack.gateway.proc.pid);
      const skytells = createClient('k', { baseUrl: `${stack.gateway.url}/skytells` });
      const prediction = await skytells.predict({
        model: 'truefusion-video-pro',
        input: { prompt: 'a long video', seed: 5 },
        await: true,
      });
      const url = String(prediction.output[0]);
      const name = nameOf(url);
      assert.ok(name, `a /files URL, got ${url}`);
      const growthKib = (await peakRssKib(stack.gateway.proc.pid)) - before;
      console.log(`gateway peak RSS growth while re-hosting 200 MiB: ${growthKib} KiB`);
      assert.ok(growthKib < 64 * 1024, `peak RSS grew by ${growthKib} KiB`);
      const served = await hashOf(url);
      assert.equal(served.length, size);
      assert.equal(served.sha, name);
      const afterServing = (await peakRssKib(stack.gateway.proc.pid)) - before;
      assert.ok(afterServing < 64 * 1024, `serving it grew peak RSS by ${afterServing} KiB`);
    } finally {
      await stack.fake.configure({ output_bytes: 4096, url_ttl_ms: 2000 });
    }
  });
});
