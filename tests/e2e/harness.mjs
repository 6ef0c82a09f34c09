// Starts the fake provider and the gencache gateway as child processes for
// the end-to-end tests, and stops exactly the processes it started (also when
// a test fails or the test runner exits early).
//
// Binaries come from the environment: FAKE_PROVIDER_BIN and GENCACHE_BIN
// (CTest sets both; see CMakeLists.txt in this folder).

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const LISTENING = /listening on [^:\s]+:(\d+)/;
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

// Every child still running, so that an exiting runner can kill them.
const running = new Set();
function killRunning() {
  for (const child of running) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killRunning);
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.once(signal, () => {
    killRunning();
    process.exit(code);
  });
}

export function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (path to the binary under test)`);
  return value;
}

// Spawns `bin args` and resolves once a line matches /listening on HOST:PORT/
// on stdout or stderr. Rejects (after killing the child) on timeout or early
// exit, with the output so far.
async function spawnListening(name, bin, args, env) {
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  let exited = false;
  // 'exit' may not come when the spawn itself fails ('error'), so either ends it.
  const exitPromise = new Promise((resolve) => {
    const done = (result) => {
      exited = true;
      running.delete(child);
      resolve(result);
    };
    child.once('exit', (code, signal) => done({ code, signal }));
    child.once('error', (error) => done({ code: null, signal: null, error }));
  });
  const handle = {
    name,
    pid: child.pid,
    output: () => output,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          if (!exited) child.kill('SIGKILL');
        }, STOP_TIMEOUT_MS);
        await exitPromise;
        clearTimeout(timer);
      }
      return exitPromise;
    },
  };
  try {
    handle.port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${name} did not report listening within ${START_TIMEOUT_MS} ms:\n${output}`));
      }, START_TIMEOUT_MS);
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
      exitPromise.then(({ code, signal, error }) => {
        clearTimeout(timer);
        reject(
          error
            ? new Error(`${name} failed to start (${bin}): ${error.message}`)
            : new Error(`${name} exited (code ${code}, signal ${signal}) before listening:\n${output}`),
        );
      });
    });
  } catch (err) {
    await handle.stop();
    throw err;
  }
  // The data listeners stay attached: they drain the pipes, so a chatty child
  // never blocks, and keep the output for failure messages.
  return handle;
}

// The fake provider. `options`: latency ("300ms"), async (bool), asyncSteps,
// urlTtl ("1h").
export async function startFake(options = {}) {
  const bin = requireEnv('FAKE_PROVIDER_BIN');
  const args = ['--listen', '127.0.0.1:0'];
  if (options.latency) args.push('--latency', options.latency);
  if (options.async) args.push('--async');
  if (options.asyncSteps) args.push('--async-steps', String(options.asyncSteps));
  if (options.urlTtl) args.push('--url-ttl', options.urlTtl);
  const proc = await spawnListening('fake_provider', bin, args, process.env);
  const url = `http://127.0.0.1:${proc.port}`;
  const control = async (method, route, body) => {
    const res = await fetch(`${url}/_fake/${route}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`fake ${method} /_fake/${route}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  return {
    proc,
    port: proc.port,
    url,
    stats: () => control('GET', 'stats'),
    reset: () => control('POST', 'reset'),
    configure: (config) => control('POST', 'config', config),
    stop: () => proc.stop(),
  };
}

export const PROVIDER_KEYS = {
  E2E_SKYTELLS_KEY: 'sk-e2e-skytells',
  E2E_REPLICATE_KEY: 'r8-e2e-replicate',
  E2E_OPENAI_KEY: 'sk-e2e-openai',
};

// `extra`: more top-level YAML, appended (e.g. a near_duplicate section).
export function gatewayConfig(fakePort, dataDir, extra = '') {
  const fake = `http://127.0.0.1:${fakePort}`;
  return [
    'listen: 127.0.0.1:0',
    `data_dir: ${dataDir}`,
    'providers:',
    `  skytells: {kind: skytells, base_url: ${fake}/skytells/v1, api_key_env: E2E_SKYTELLS_KEY}`,
    `  replicate: {kind: replicate, base_url: ${fake}/replicate/v1, api_key_env: E2E_REPLICATE_KEY}`,
    `  openai: {kind: openai, base_url: ${fake}/openai/v1, api_key_env: E2E_OPENAI_KEY}`,
    'cache:',
    '  ttl: 7d',
    // The fake serves its outputs on loopback: allowed explicitly, so the
    // gateway re-hosts them and clients get its own /files URLs.
    'rehost:',
    '  allowed_hosts: [127.0.0.1]',
    extra,
    '',
  ].join('\n');
}

// The gateway in front of a running fake, with its own temporary data dir.
export async function startGateway(fake, tmpDir, extraConfig = '') {
  const bin = requireEnv('GENCACHE_BIN');
  const dataDir = path.join(tmpDir, 'data');
  const configPath = path.join(tmpDir, 'gencache.yaml');
  await writeFile(configPath, gatewayConfig(fake.port, dataDir, extraConfig));
  const env = { ...process.env, ...PROVIDER_KEYS };
  const proc = await spawnListening(
    'gencache',
    bin,
    ['serve', '--config', configPath, '--listen', '127.0.0.1:0', '--data-dir', dataDir],
    env,
  );
  return { proc, port: proc.port, url: `http://127.0.0.1:${proc.port}`, stop: () => proc.stop() };
}

// A fake provider and a gateway in a fresh temporary directory. stop() stops
// both (gateway first), removes the directory, and throws if either did not
// exit cleanly (code 0) on SIGTERM, so a crash at shutdown fails the test.
export async function startStack(fakeOptions = {}, gatewayExtraConfig = '') {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'gencache-e2e-'));
  let fake;
  let gateway;
  const stop = async () => {
    const unclean = [];
    for (const server of [gateway, fake]) {
      if (!server) continue;
      const { code, signal } = await server.stop();
      if (code !== 0) {
        unclean.push(`${server.proc.name} exited with code ${code}, signal ${signal}:\n` +
                     server.proc.output().slice(-4000));
      }
    }
    await rm(tmp, { recursive: true, force: true });
    if (unclean.length) throw new Error(unclean.join('\n'));
  };
  try {
    fake = await startFake(fakeOptions);
    gateway = await startGateway(fake, tmp, gatewayExtraConfig);
  } catch (err) {
    await stop().catch(() => undefined);  // the start-up error is the one to report
    throw err;
  }
  return { fake, gateway, tmp, stop };
}
