#!/usr/bin/env node
// The status page in headless Chromium: the snapshot shows the testsrc (its frame-number blocks decode, and
// the number grows), the chart draws the layers and moves, the sources table says "live", the warnings list
// shows the daemon's warnings, nothing is fetched from elsewhere, and two screenshots 3 s apart differ.
// usage: node status_page.mjs URL OUTDIR    Exit 0 pass, 1 fail. Bounded by a 60 s deadline.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [url, outDir] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const log = (...a) => console.log(`[status-page ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s]`, ...a);
const profileDir = mkdtempSync(path.join(tmpdir(), 'mixcast-status-page-'));
process.env.TMPDIR = profileDir;
let browser = null, failed = 0;
const check = (ok, what) => { log(`${ok ? 'PASS' : 'FAIL'}: ${what}`); if (!ok) failed++; };
async function finish(code) {
  if (browser) await Promise.race([browser.close().catch(() => {}), sleep(5000)]);
  rmSync(profileDir, { recursive: true, force: true });
  process.exit(code);
}
setTimeout(() => { log('FAIL: global timeout (60 s)'); finish(1); }, 60000);

// In the page: the <img>'s frame number from the testsrc's 24 blocks along the top (white = 1, MSB first).
const picture = () => {
  const img = document.getElementById('snap');
  if (!img.complete || !img.naturalWidth) return null;
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d');
  g.drawImage(img, 0, 0);
  const bs = Math.max(4, Math.floor(c.width / 32));
  let n = 0;
  for (let b = 0; b < 24; b++) n = n * 2 + (g.getImageData(b * bs + bs / 2, bs / 2, 1, 1).data[0] > 128 ? 1 : 0);
  const r = img.getBoundingClientRect();
  return { w: img.naturalWidth, h: img.naturalHeight, n, shownW: r.width, shownH: r.height };
};
// In the page: how many chart pixels are in each layer's colour, and a digest of the canvas.
const chart = () => {
  const c = document.getElementById('chart');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const want = [[0x1f, 0x77, 0xb4], [0xd6, 0x27, 0x28]];
  const hits = [0, 0];
  for (let i = 0; i < d.length; i += 4)
    want.forEach((w, k) => { if (Math.abs(d[i] - w[0]) < 24 && Math.abs(d[i + 1] - w[1]) < 24 && Math.abs(d[i + 2] - w[2]) < 24) hits[k]++; });
  return { hits, url: c.toDataURL() };
};

async function main() {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, timeout: 30000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [], foreign = [];
  page.on('pageerror', (e) => { errors.push(e.message); log(`page error: ${e.message}`); });
  page.on('request', (r) => { if (!r.url().startsWith('http://127.0.0.1:17290/') && !r.url().startsWith('blob:')) foreign.push(r.url()); });
  // the daemon is starting: retry until it answers
  for (let i = 0; ; i++) {
    try { await page.goto(url, { timeout: 5000 }); break; } catch (e) { if (i >= 30) throw e; await sleep(200); }
  }
  let p1 = null;
  for (let i = 0; i < 50 && !(p1 = await page.evaluate(picture)); i++) await sleep(200);
  check(p1 && p1.w === 320 && p1.h === 180 && p1.shownW >= 300, `the page shows the snapshot: ${JSON.stringify(p1)}`);
  // a few polls: the chart needs two /stats answers per point
  let c1 = null;
  for (let i = 0; i < 40; i++) { await sleep(250); c1 = await page.evaluate(chart); if (c1.hits[0] > 100 && c1.hits[1] > 100) break; }
  check(c1.hits[0] > 100 && c1.hits[1] > 100, `the chart draws both layers (${c1.hits} pixels of their colours)`);
  const shot1 = await page.screenshot({ fullPage: true });
  await sleep(3000);
  const shot2 = await page.screenshot({ fullPage: true });
  writeFileSync(path.join(outDir, 'status1.png'), shot1);
  writeFileSync(path.join(outDir, 'status2.png'), shot2);
  check(Buffer.compare(shot1, shot2) !== 0, `two screenshots 3 s apart differ (${shot1.length} and ${shot2.length} bytes)`);
  const p2 = await page.evaluate(picture), c2 = await page.evaluate(chart);
  check(p1 && p2 && p2.n >= p1.n + 30, `the picture refreshes: testsrc frame ${p1 && p1.n} -> ${p2 && p2.n}`);
  check(c2.url !== c1.url, 'the chart moved');
  const text = await page.evaluate(() => ({
    layers: document.querySelector('#layers tbody').innerText,
    sources: document.querySelector('#sources tbody').innerText,
    warn: document.getElementById('warn').innerText,
    err: document.getElementById('err').innerText,
  }));
  // the rates themselves depend on the machine's load (a busy 2-core machine encodes 20 of 30 fps): they
  // must be there and plausible, not exact
  const rows = text.layers.split('\n').map((r) => r.split('\t'));
  const ok = (r, name, size, maxFps) => r && r[0] === name && r[1] === size && r[2] === 'software' &&
    Number(r[3]) > 0 && Number(r[4]) > 1 && Number(r[4]) <= maxFps;
  check(ok(rows[0], 'live/0', '320x180@30', 35) && ok(rows[1], 'live/1', '160x90@15', 18),
    `the layers table: sizes, encoder, kbit/s and fps (${JSON.stringify(text.layers)})`);
  check(/cam\s+testsrc\s+live\s+320x180/.test(text.sources), `the sources table: cam live (${JSON.stringify(text.sources)})`);
  check(/output: sfu: RTP\/RTCP to 127\.0\.0\.1:1720\d failed/.test(text.warn), `the last warnings (${JSON.stringify(text.warn.slice(0, 160))})`);
  check(text.err === '', `no fetch errors shown (${text.err})`);
  check(errors.length === 0, `no script errors (${errors})`);
  check(foreign.length === 0, `nothing fetched from elsewhere (${foreign.slice(0, 3)})`);
}

main().then(() => finish(failed ? 1 : 0), (e) => { log(`FAIL: ${e.stack || e}`); finish(1); });
