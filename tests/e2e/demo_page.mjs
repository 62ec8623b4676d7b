#!/usr/bin/env node
// Drives the page tools/demo tells people to open (Janus's streamingtest.html from janus-demos, with our
// settings.js) in headless Chromium, the way a person would: Start, pick the mixcast mountpoint, Watch,
// then the SL 0 / SL 1 / SL 2 simulcast buttons. Each must show the layer's size in the <video>.
// usage: node demo_page.mjs [URL]   (default http://127.0.0.1:8000/streamingtest.html)
// Exit 0 all good, 1 a check failed. Bounded by a 60 s global deadline.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const url = process.argv[2] ?? 'http://127.0.0.1:8000/streamingtest.html';
const expect = { 0: '320x180', 1: '640x360', 2: '1280x720' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const log = (...a) => console.log(`[demo-page ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s]`, ...a);

const profileDir = mkdtempSync(path.join(tmpdir(), 'mixcast-demo-page-'));
process.env.TMPDIR = profileDir; // playwright's fresh --user-data-dir goes in here
let browser = null;
async function finish(code) {
  if (browser) await Promise.race([browser.close().catch(() => {}), sleep(5000)]);
  rmSync(profileDir, { recursive: true, force: true });
  process.exit(code);
}
setTimeout(() => { log('FAIL: global timeout (60 s)'); finish(1); }, 60000);

async function main() {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, timeout: 30000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--allow-loopback-in-peer-connection',
      '--disable-features=WebRtcHideLocalIpsWithMdns', '--autoplay-policy=no-user-gesture-required'],
  });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => { errors.push(e.message); log(`page error: ${e.message}`); });
  await page.goto(url, { timeout: 10000 });
  await page.click('#start', { timeout: 5000 });
  await page.waitForSelector('#streamslist a', { state: 'attached', timeout: 10000 });
  const streams = await page.$$eval('#streamslist a', (as) => as.map((a) => ({ id: a.id, text: a.textContent })));
  log('streams listed:', streams.map((s) => `${s.id}: ${s.text}`).join(' | '));
  const ours = streams.find((s) => /mixcast/.test(s.text));
  if (!ours) throw new Error('no mixcast mountpoint in the page\'s list');
  // The dropdown items are jQuery click handlers on <a> inside a closed menu: click through the DOM.
  await page.evaluate((id) => document.getElementById(id).click(), ours.id);
  await page.click('#watch', { timeout: 5000 });

  const size = () => page.evaluate(() => {
    const v = document.querySelector('video[id^=remotevideo]');
    return v && v.videoWidth ? `${v.videoWidth}x${v.videoHeight}` : null;
  });
  let s = null;
  for (let i = 0; i < 75 && !s; i++) { await sleep(200); s = await size(); }
  if (!s) throw new Error('the page\'s <video> never played');
  log(`playing at ${s}`);
  await page.waitForSelector('[id$="-sl-0"]', { timeout: 10000 });

  let failed = 0;
  for (const sl of [0, 1, 2]) {
    await page.click(`[id$="-sl-${sl}"]`);
    for (let i = 0; i < 50; i++) { s = await size(); if (s === expect[sl]) break; await sleep(200); }
    const ok = s === expect[sl];
    if (!ok) failed++;
    console.log(`${ok ? 'PASS' : 'FAIL'} demo page SL ${sl}: <video> is ${s} (want ${expect[sl]})`);
  }
  if (errors.length) { console.log(`FAIL demo page: ${errors.length} page errors`); failed++; }
  return failed ? 1 : 0;
}

main().then(finish, (e) => { log(`FAIL: ${e.message.split('\n')[0]}`); finish(1); });
