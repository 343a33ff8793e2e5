// Browser tests of evs-sse-server: the browser's own EventSource is the
// client.  Debian's Chromium, driven by playwright-core (no browser download).
//
//   node browser.test.mjs PATH/TO/evs-sse-server
//
// 1. The server ends every stream after K events (--close-every) while its
//    generator keeps appending: EventSource reconnects with Last-Event-ID
//    each time, and the page must get every id exactly once, in order.
// 2. A TCP proxy between the browser and the server cuts the connection and
//    refuses new ones for a moment: same requirement.
//
// Loopback only, free ports, bounded time; every process started here is
// stopped on exit.  A missing Chromium or node_modules is a failure, not a
// skip: scripts/setup.sh installs both.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const serverBin = process.argv[2] || process.env.EVS_SSE_SERVER;
const chromiumPath = process.env.EVS_CHROMIUM || '/usr/bin/chromium';
const TOTAL_MS = 150_000;

function die(msg) {
  console.error(`sse browser test: ${msg}`);
  process.exit(1);
}

if (!serverBin || !existsSync(serverBin))
  die(`evs-sse-server not found (${serverBin}); pass its path as the first argument`);
if (!existsSync(chromiumPath))
  die(`${chromiumPath} not found: run scripts/setup.sh (installs Debian's chromium)`);
if (!existsSync(path.join(here, 'node_modules', 'playwright-core')))
  die('tests/sse/node_modules/playwright-core missing: run scripts/setup.sh (npm install in tests/sse)');
const { chromium } = await import('playwright-core');

const children = new Set();
const closers = [];

async function stopAll() {
  for (const c of closers.splice(0)) {
    try { await c(); } catch { /* already gone */ }
  }
  await Promise.all([...children].map((p) => new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    p.once('exit', () => { clearTimeout(t); resolve(); });
    p.kill('SIGTERM');
  })));
}
process.on('exit', () => { for (const p of children) p.kill('SIGKILL'); });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.on(sig, () => process.exit(1));   // runs the 'exit' handler above
process.stdout.on('error', () => process.exit(1));   // e.g. piped into head
const watchdog = setTimeout(async () => {
  console.error(`sse browser test: over ${TOTAL_MS} ms, giving up`);
  await stopAll();
  process.exit(1);
}, TOTAL_MS);
watchdog.unref();
after(stopAll);

// Starts the server on a free port; resolves with its URL.
function startServer(args) {
  return new Promise((resolve, reject) => {
    // --exit-after-ms: a server outlives this test by 10 s at most, even
    // if the test is killed with SIGKILL.
    const p = spawn(serverBin, ['--port', '0', '--exit-after-ms', `${TOTAL_MS + 10_000}`, ...args],
                    { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(p);
    let out = '';
    let err = '';
    const t = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 10_000);
    p.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^(http:\/\/\S+)$/m);
      if (m) { clearTimeout(t); resolve({ proc: p, url: m[1], stderr: () => err }); }
    });
    p.stderr.on('data', (d) => { err += d; });
    p.on('exit', (code) => { clearTimeout(t); reject(new Error(`server exited ${code}: ${err}`)); });
  });
}

// A TCP proxy that can cut every connection and refuse new ones.
function startProxy(targetPort) {
  return new Promise((resolve) => {
    const sockets = new Set();
    let down = false;
    let refused = 0;
    const server = net.createServer((client) => {
      if (down) { refused++; client.destroy(); return; }
      const upstream = net.connect(targetPort, '127.0.0.1');
      sockets.add(client);
      sockets.add(upstream);
      const close = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    server.listen(0, '127.0.0.1', () => {
      const proxy = {
        port: server.address().port,
        cut() { down = true; for (const s of sockets) s.destroy(); sockets.clear(); },
        restore() { down = false; },
        refused: () => refused,
        close: () => new Promise((r) => { proxy.cut(); server.close(() => r()); }),
      };
      closers.push(proxy.close);
      resolve(proxy);
    });
  });
}

async function launch() {
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run',
           '--disable-quic'],
  });
  closers.unshift(() => browser.close());
  return browser;
}

// Records the Last-Event-ID header of every /events request that reached the
// server (got a response), in order.  allHeaders(), not headers(): the latter
// hides Last-Event-ID.  A request that failed to connect (the proxy refused
// it) is counted apart: Chromium reports no network-level headers for it.
function recordStreams(page) {
  const answered = [];
  let failed = 0;
  page.on('response', (r) => {
    if (new URL(r.url()).pathname === '/events')
      answered.push(r.request().allHeaders().then((h) => h['last-event-id'] ?? null));
  });
  page.on('requestfailed', (r) => {
    if (new URL(r.url()).pathname === '/events')
      failed++;
  });
  const all = () => Promise.all(answered);
  all.failed = () => failed;
  return all;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pageState = (page) => page.evaluate(() => ({
  received: window.evs.received.slice(),
  resets: window.evs.resets.slice(),
  opens: window.evs.opens,
  errors: window.evs.errors,
}));

// Every id exactly once, in order, from 1, all of one epoch.
function assertExactlyOnce(received) {
  assert.ok(received.length > 0, 'no event received');
  const epoch = received[0].split('-')[0];
  assert.match(epoch, /^[0-9a-f]{16}$/, `bad id ${received[0]}`);
  received.forEach((id, i) => {
    assert.equal(id, `${epoch}-${i + 1}`,
      `event ${i}: expected ${epoch}-${i + 1}, got ${id} (around: ${received.slice(Math.max(0, i - 3), i + 3)})`);
  });
  return epoch;
}

const browser = await launch();

test('server closes every 7 events: EventSource resumes with Last-Event-ID, exactly once', async () => {
  const K = 7;
  const WANT = 9 * K;
  const { url } = await startServer(['--rate', '40', '--sessions', '1', '--close-every', `${K}`,
                                     '--retry-ms', '200', '--heartbeat-ms', '1000']);
  const context = await browser.newContext();
  const page = await context.newPage();
  const headers = recordStreams(page);
  await page.goto(`${url}?session=gen-0`);
  await page.waitForFunction((n) => window.evs && window.evs.received.length >= n, WANT,
                             { timeout: 40_000, polling: 100 });
  const st = await pageState(page);
  await context.close();

  const epoch = assertExactlyOnce(st.received);
  assert.deepEqual(st.resets, [], 'no reset expected');
  const leids = await headers();
  const streams = Math.floor(st.received.length / K);
  assert.ok(leids.length >= streams, `only ${leids.length} /events requests for ${st.received.length} events`);
  assert.equal(leids[0], null, 'the first request has no Last-Event-ID');
  for (let k = 1; k < leids.length; k++)
    assert.equal(leids[k], `${epoch}-${k * K}`, `reconnect ${k} sent Last-Event-ID ${leids[k]}`);
  console.log(`# close-every: ${st.received.length} events over ${leids.length} requests, ` +
              `${st.opens} opens, ids 1..${st.received.length} exactly once`);
});

test('a proxy cuts the TCP connection and stays down: EventSource resumes, exactly once', async () => {
  const { url } = await startServer(['--rate', '40', '--sessions', '1', '--retry-ms', '200',
                                     '--heartbeat-ms', '1000']);
  const proxy = await startProxy(Number(new URL(url).port));
  const context = await browser.newContext();
  const page = await context.newPage();
  const headers = recordStreams(page);
  await page.goto(`http://127.0.0.1:${proxy.port}/?session=gen-0`);
  await page.waitForFunction(() => window.evs && window.evs.received.length >= 20, null,
                             { timeout: 20_000, polling: 100 });
  const before = (await headers()).length;
  proxy.cut();
  await sleep(1500);   // down for a moment: reconnects are refused
  const atCut = await pageState(page);
  const lastBeforeCut = atCut.received[atCut.received.length - 1];
  proxy.restore();
  const want = atCut.received.length + 40;
  await page.waitForFunction((n) => window.evs.received.length >= n, want,
                             { timeout: 30_000, polling: 100 });
  const st = await pageState(page);
  await context.close();

  assertExactlyOnce(st.received);
  assert.deepEqual(st.resets, [], 'no reset expected');
  const leids = await headers();
  assert.ok(leids.length > before, 'the browser did not reconnect');
  for (const h of leids.slice(before))
    assert.equal(h, lastBeforeCut, `a reconnect after the cut sent Last-Event-ID ${h}`);
  console.log(`# proxy: cut after ${atCut.received.length} events, ${proxy.refused()} connections ` +
              `refused while down (${headers.failed()} failed requests), ` +
              `${leids.length - before} reconnect answered ` +
              `(Last-Event-ID ${lastBeforeCut}), ${st.received.length} events exactly once`);
});

test('page reload resumes with ?lastEventId= (a new EventSource sends no header)', async () => {
  const { url } = await startServer(['--rate', '40', '--sessions', '1', '--retry-ms', '200']);
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${url}?session=gen-0`);
  await page.waitForFunction(() => window.evs && window.evs.received.length >= 10, null,
                             { timeout: 20_000, polling: 100 });
  await page.goto('about:blank');   // the EventSource is gone with the page
  const seen = await (await fetch(`${url}info?session=gen-0`)).json();
  const resumeAt = `${seen.epoch}-5`;
  const headers = recordStreams(page);
  await page.goto(`${url}?session=gen-0&lastEventId=${resumeAt}`);
  await page.waitForFunction(() => window.evs && window.evs.received.length >= 5, null,
                             { timeout: 20_000, polling: 100 });
  const st = await pageState(page);
  await context.close();
  const leids = await headers();
  assert.equal(leids[0], null, 'a new EventSource sends no Last-Event-ID');
  st.received.forEach((id, i) => assert.equal(id, `${seen.epoch}-${i + 6}`));
  assert.deepEqual(st.resets, []);
});
