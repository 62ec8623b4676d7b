#!/usr/bin/env node
// Headless Chromium as a real WebRTC viewer of a Janus streaming mountpoint.
//
// Node speaks Janus's HTTP API (so the page needs no CORS or Private Network Access exceptions); the page
// only holds the RTCPeerConnection. After subscribing, it asks Janus for each simulcast substream in turn
// (`configure {substream: N}`) and requires the browser to decode frames of the expected size for it.
//
// Exit status: 0 every substream passed, 1 a check failed, 2 bad usage or the browser could not start.
// Every wait is bounded; a global deadline (--timeout-s) ends the run whatever happens.

import { parseArgs } from 'node:util';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const USAGE = `usage: node watch.mjs [options]
  --janus URL          Janus HTTP API base (default http://127.0.0.1:18088/janus)
  --mountpoint ID      streaming mountpoint id (default 1)
  --codec NAME         expected codec: h264 or vp8 (default h264)
  --expect LIST        substream=WxH, checked in this order (default 0=320x180,1=640x360,2=1280x720)
  --min-frames N       frames to decode at each size (default 10)
  --switch-timeout-s S per substream: time to reach the size and decode N frames (default 15)
  --timeout-s S        global deadline (default 60)
  --chromium PATH      browser binary (default /usr/bin/chromium)
  --pid-file FILE      write the browser's PID here (so a runner can kill it by id)
  --keep-open-s S      after the checks, keep watching for S seconds (demo/debugging)
  --joins N            first, N late joins (a new session each, 2.2 s apart, after one warm-up join that is
                       not counted): time from 'start' to the first decoded frame; reports min/median/p95/max
  --join-p95-ms MS     fail when the joins' p95 is above MS
  --switch-max-ms MS   fail a substream switch that takes longer than MS to show the new size
  --poll-ms MS         how often getStats() is polled while timing (default 200; 10 for --joins)`;

const { values: opt } = parseArgs({
  options: {
    janus: { type: 'string', default: 'http://127.0.0.1:18088/janus' },
    mountpoint: { type: 'string', default: '1' },
    codec: { type: 'string', default: 'h264' },
    expect: { type: 'string', default: '0=320x180,1=640x360,2=1280x720' },
    'min-frames': { type: 'string', default: '10' },
    'switch-timeout-s': { type: 'string', default: '15' },
    'timeout-s': { type: 'string', default: '60' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    'pid-file': { type: 'string' },
    'keep-open-s': { type: 'string', default: '0' },
    joins: { type: 'string', default: '0' },
    'join-p95-ms': { type: 'string' },
    'switch-max-ms': { type: 'string' },
    'poll-ms': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) { console.log(USAGE); process.exit(0); }

const t0 = Date.now();
const elapsed = () => ((Date.now() - t0) / 1000).toFixed(1).padStart(5);
const log = (...a) => console.log(`[watch ${elapsed()}s]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const expectations = opt.expect.split(',').map((s) => {
  const m = /^\s*(\d)\s*=\s*(\d+)x(\d+)\s*$/.exec(s);
  if (!m) { console.error(`watch: bad --expect entry '${s}'\n${USAGE}`); process.exit(2); }
  return { substream: +m[1], width: +m[2], height: +m[3] };
});
const minFrames = +opt['min-frames'];
const switchTimeoutMs = +opt['switch-timeout-s'] * 1000;
const mountpoint = /^\d+$/.test(opt.mountpoint) ? +opt.mountpoint : opt.mountpoint;
const wantMime = { h264: 'video/H264', vp8: 'video/VP8' }[opt.codec.toLowerCase()];
if (!wantMime) { console.error(`watch: unknown --codec ${opt.codec}`); process.exit(2); }

// ---- global deadline: fail loudly rather than hang ----
let browser = null;
let profileDir = null;
let finished = false;
async function shutdown(code) {
  if (finished) return;
  finished = true;
  stopEvents();
  // Closing the browser takes <1 s; bound it anyway.
  if (browser) await Promise.race([browser.close().catch(() => {}), sleep(5000)]);
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  process.exit(code);
}
const deadline = setTimeout(() => {
  console.error(`[watch ${elapsed()}s] FAIL: global timeout of ${opt['timeout-s']} s`);
  shutdown(1);
}, +opt['timeout-s'] * 1000);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => shutdown(1));

// ---- Janus HTTP API ----
let txn = 0;
async function janusPost(urlPath, body, timeoutMs = 5000) {
  const res = await fetch(`${opt.janus}${urlPath}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, transaction: `mc${++txn}` }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const j = await res.json();
  if (j.janus === 'error') throw new Error(`Janus ${body.janus}: ${j.error?.code} ${j.error?.reason}`);
  return j;
}

// Long-poll pump: GET /janus/<session>?maxev=1 returns one event or a keepalive after ~30 s.
const events = [];
const eventWaiters = new Set();
const pumps = new Set(); // one long-poll per live session (late joins make several)
function stopEvents() { for (const ac of pumps) ac.abort(); }
// Returns a function that stops this session's pump (call it when the session is destroyed).
function pumpEvents(session) {
  const ac = new AbortController();
  pumps.add(ac);
  (async () => {
    while (!finished && !ac.signal.aborted) {
      try {
        const signal = AbortSignal.any ? AbortSignal.any([ac.signal, AbortSignal.timeout(40000)]) : ac.signal;
        const res = await fetch(`${opt.janus}/${session}?maxev=1&rid=${Date.now()}`, { signal });
        const ev = await res.json();
        if (ev.janus === 'keepalive') continue;
        if (ev.janus === 'error') { log(`event poll: ${ev.error?.reason ?? 'error'}; stopping`); break; }
        const pd = ev.plugindata?.data;
        const brief = pd ? JSON.stringify(pd) : ev.janus;
        log(`janus event: ${ev.janus}${pd ? ' ' + brief.slice(0, 200) : ''}${ev.jsep ? ` (+jsep ${ev.jsep.type})` : ''}`);
        events.push(ev);
        for (const w of eventWaiters) w();
      } catch (e) {
        if (finished || ac.signal.aborted) break;
        log(`event poll error: ${e.message}; retrying`);
        await sleep(500);
      }
    }
    pumps.delete(ac);
  })();
  return () => ac.abort();
}
function waitEvent(pred, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const ev = events.find(pred);
      if (ev) { cleanup(); resolve(ev); return true; }
      return false;
    };
    const timer = setTimeout(() => { cleanup(); reject(new Error(`no ${what} from Janus within ${timeoutMs / 1000} s`)); }, timeoutMs);
    const cleanup = () => { clearTimeout(timer); eventWaiters.delete(check); };
    if (!check()) eventWaiters.add(check);
  });
}
const pluginError = (ev) => ev.plugindata?.data?.error;

// PIDs of this process's children (Linux /proc), whatever thread spawned them.
function childPids() {
  try {
    return readdirSync('/proc/self/task').flatMap((t) =>
      readFileSync(`/proc/self/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
  } catch { return []; }
}

// ---- page helpers (run inside Chromium) ----
async function pageStats(page) {
  return page.evaluate(async () => {
    const pc = window.pc;
    const out = { ice: pc.iceConnectionState, conn: pc.connectionState, inbound: null };
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        const codec = s.codecId ? report.get(s.codecId) : null;
        out.inbound = {
          ssrc: s.ssrc, framesDecoded: s.framesDecoded ?? 0, keyFramesDecoded: s.keyFramesDecoded ?? 0,
          frameWidth: s.frameWidth ?? 0, frameHeight: s.frameHeight ?? 0, packetsReceived: s.packetsReceived ?? 0,
          packetsLost: s.packetsLost ?? 0, bytesReceived: s.bytesReceived ?? 0, mimeType: codec?.mimeType ?? '?',
          pliCount: s.pliCount ?? 0, firCount: s.firCount ?? 0,
        };
      }
    });
    return out;
  });
}
const fmt = (s) => (s.inbound
  ? `${s.inbound.frameWidth}x${s.inbound.frameHeight} decoded=${s.inbound.framesDecoded} key=${s.inbound.keyFramesDecoded} pkts=${s.inbound.packetsReceived} lost=${s.inbound.packetsLost} pli=${s.inbound.pliCount} fir=${s.inbound.firCount} ${s.inbound.mimeType} ice=${s.ice}`
  : `no inbound-rtp yet (ice=${s.ice} pc=${s.conn})`);

// Poll stats until pred(stats) is true or the time is up; returns the last stats and whether it held.
async function pollStats(page, pred, timeoutMs, everyMs = 200) {
  const end = Date.now() + timeoutMs;
  let s = await pageStats(page);
  while (!pred(s)) {
    if (Date.now() >= end) return { ok: false, s };
    if (s.conn === 'failed' || s.conn === 'closed') return { ok: false, s };
    await sleep(everyMs);
    s = await pageStats(page);
  }
  return { ok: true, s };
}

// One viewer: a session, a streaming handle, watch, answer, start. Returns the page-side state and the
// time (ms since the epoch) at which `start` was sent.
async function join(page) {
  const session = (await janusPost('', { janus: 'create' })).data.id;
  const stop = pumpEvents(session);
  const handle = (await janusPost(`/${session}`, { janus: 'attach', plugin: 'janus.plugin.streaming' })).data.id;
  const msg = (body, jsep) => janusPost(`/${session}/${handle}`, { janus: 'message', body, ...(jsep ? { jsep } : {}) });
  const tWatch = Date.now();
  await msg({ request: 'watch', id: mountpoint });
  const offerEv = await waitEvent((e) => (e.sender === handle && e.jsep?.type === 'offer') || (e.sender === handle && pluginError(e)),
    10000, 'offer');
  if (pluginError(offerEv)) throw new Error(`watch refused: ${pluginError(offerEv)}`);
  const answer = await page.evaluate(async (offer) => {
    if (window.pc) window.pc.close();
    const pc = new RTCPeerConnection({ iceServers: [] });
    window.pc = pc;
    pc.ontrack = (e) => {
      const v = document.getElementById('v');
      v.srcObject = e.streams[0] || new MediaStream([e.track]);
      v.play().catch(() => {});
    };
    await pc.setRemoteDescription(offer);
    await pc.setLocalDescription(await pc.createAnswer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      const t = setTimeout(resolve, 5000);
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
      });
    });
    return { type: pc.localDescription.type, sdp: pc.localDescription.sdp };
  }, offerEv.jsep);
  const tStart = Date.now();
  await msg({ request: 'start' }, answer);
  return { session, handle, msg, answer, tStart, tWatch, stop };
}

const pct = (xs, p) => { const a = [...xs].sort((x, y) => x - y); return a[Math.min(a.length - 1, Math.ceil(p / 100 * a.length) - 1)]; };

// Late joins: each a new viewer while the stream runs; the time from `start` to its first decoded frame.
async function lateJoins(page, n) {
  const pollMs = +(opt['poll-ms'] ?? 10);
  const times = [];
  let last = null, warmup = null;
  // join 0 is a warm-up, reported but not counted: the browser's first RTCPeerConnection pays one-time
  // costs (WebRTC start-up, DTLS certificate) that no sender can shorten
  for (let i = -1; i < n; i++) {
    // Janus sends at most one PLI a second and keeps asking while a viewer waits: space the joins so that
    // each one's first PLI is its own, as for a viewer who comes along later
    await sleep(2200);
    const j = await join(page);
    const r = await pollStats(page, (s) => s.inbound?.framesDecoded > 0, 15000, pollMs);
    const ms = Date.now() - j.tStart;
    if (i < n - 1) { // the last viewer stays for the substream checks
      // leave as a browser tab does: stop, close the PeerConnection, end the session
      await j.msg({ request: 'stop' }).catch(() => {});
      await page.evaluate(() => { if (window.pc) window.pc.close(); window.pc = null; });
      await janusPost(`/${j.session}`, { janus: 'destroy' }).catch(() => {});
      j.stop();
    } else {
      last = j;
    }
    if (!r.ok) throw new Error(`join ${i + 1}: no frame decoded within 15 s: ${fmt(r.s)}`);
    if (i < 0) {
      warmup = ms;
      log(`warm-up join: first frame ${ms} ms after start (not counted)`);
      continue;
    }
    times.push(ms);
    log(`join ${i + 1}: first frame ${ms} ms after start at ${j.tStart % 100000000} ms (watch ${j.tStart - j.tWatch} ms before) (${fmt(r.s)})`);
  }
  const med = pct(times, 50), p95 = pct(times, 95);
  console.log(`JOINS: ${n} late joins, start -> first decoded frame: min ${Math.min(...times)} ms, median ${med} ms, ` +
              `p95 ${p95} ms, max ${Math.max(...times)} ms [${times.join(', ')}]; warm-up join ${warmup} ms`);
  return { p95, last };
}

// ---- main ----
async function main() {
  // Fresh --user-data-dir every run: playwright's launch() creates it under os.tmpdir(), so point that
  // into a directory of ours that we delete whatever happens.
  profileDir = mkdtempSync(path.join(tmpdir(), 'mixcast-watch-'));
  process.env.TMPDIR = profileDir;
  try {
    browser = await chromium.launch({
      executablePath: opt.chromium,
      headless: true,
      timeout: 30000,
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--allow-loopback-in-peer-connection',
        // Real host candidates instead of mDNS names that nothing in the namespace resolves.
        '--disable-features=WebRtcHideLocalIpsWithMdns',
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
  } catch (e) {
    console.error(`watch: cannot start ${opt.chromium}: ${e.message}`);
    return 2;
  }
  // playwright's Browser does not expose its process; the browser is our only child process.
  const pids = childPids();
  if (opt['pid-file'] && pids.length) writeFileSync(opt['pid-file'], `${pids.join('\n')}\n`);
  log(`chromium ${browser.version()} pid ${pids.join(',') || '?'}`);

  const page = await browser.newPage();
  page.on('console', (m) => log(`page console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log(`page error: ${e.message}`));
  await page.setContent('<!doctype html><title>mixcast e2e</title><video id="v" autoplay muted playsinline></video>');

  let joinFail = null, viewer = null;
  if (+opt.joins > 0) {
    const j = await lateJoins(page, +opt.joins);
    viewer = j.last;
    if (opt['join-p95-ms'] && j.p95 > +opt['join-p95-ms']) joinFail = `late joins: p95 ${j.p95} ms > ${opt['join-p95-ms']} ms`;
  }

  let session, msg, r;
  if (viewer) { // the last late joiner is already connected and decoding
    ({ session, msg } = viewer);
    r = await pollStats(page, (s) => s.inbound?.framesDecoded > 0, 1000);
    if (r.s.inbound && r.s.inbound.mimeType !== wantMime) throw new Error(`codec is ${r.s.inbound.mimeType}, expected ${wantMime}`);
    await sleep(1100); // Janus sends at most one PLI a second
  } else {
    // Janus session + streaming handle.
    session = (await janusPost('', { janus: 'create' })).data.id;
    pumpEvents(session);
    const handle = (await janusPost(`/${session}`, { janus: 'attach', plugin: 'janus.plugin.streaming' })).data.id;
    log(`janus session ${session}, handle ${handle}; watch mountpoint ${mountpoint}`);
    msg = (body, jsep) => janusPost(`/${session}/${handle}`, { janus: 'message', body, ...(jsep ? { jsep } : {}) });

    await msg({ request: 'watch', id: mountpoint });
    const offerEv = await waitEvent((e) => e.jsep?.type === 'offer' || pluginError(e), 10000, 'offer');
    if (pluginError(offerEv)) throw new Error(`watch refused: ${pluginError(offerEv)}`);

    // Answer with all candidates in the SDP (Janus half-trickle); gathering on a veth takes milliseconds.
    const answer = await page.evaluate(async (offer) => {
      const pc = new RTCPeerConnection({ iceServers: [] });
      window.pc = pc;
      pc.ontrack = (e) => {
        const v = document.getElementById('v');
        v.srcObject = e.streams[0] || new MediaStream([e.track]);
        v.play().catch(() => {});
      };
      await pc.setRemoteDescription(offer);
      await pc.setLocalDescription(await pc.createAnswer());
      await new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        const t = setTimeout(resolve, 5000);
        pc.addEventListener('icegatheringstatechange', () => {
          if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
        });
      });
      return { type: pc.localDescription.type, sdp: pc.localDescription.sdp };
    }, offerEv.jsep);
    const cands = answer.sdp.split('\n').filter((l) => l.startsWith('a=candidate')).map((l) => l.trim().split(' ').slice(4, 8).join(' '));
    log(`answer ready, browser candidates: ${cands.join(' | ') || '(none: peer-reflexive)'}`);
    await msg({ request: 'start' }, answer);

    // Connected and decoding anything at all (Janus starts a new viewer on substream 2).
    r = await pollStats(page, (s) => s.conn === 'connected', 10000);
    if (!r.ok) throw new Error(`PeerConnection not connected within 10 s: ${fmt(r.s)}`);
    log(`PeerConnection connected`);
    r = await pollStats(page, (s) => s.inbound?.framesDecoded > 0, 15000);
    if (!r.ok) throw new Error(`no frame decoded within 15 s of connecting: ${fmt(r.s)}`);
    log(`first frames: ${fmt(r.s)}`);
    if (r.s.inbound.mimeType !== wantMime) throw new Error(`codec is ${r.s.inbound.mimeType}, expected ${wantMime}`);

  }
  const results = [];
  for (const x of expectations) {
    const size = `${x.width}x${x.height}`;
    if (opt['switch-max-ms']) await sleep(1100); // timed switches: Janus sends at most one PLI a second
    const tSwitch = Date.now();
    const from = events.length;
    await msg({ request: 'configure', substream: x.substream });
    // Janus answers `configure` asynchronously; until it has, a keyframe of another substream may still
    // switch the viewer (its target was another one): count only once Janus says it is on the substream.
    try {
      await waitEvent((e) => events.indexOf(e) >= from && e.plugindata?.data?.result?.substream === x.substream,
        switchTimeoutMs, `substream ${x.substream} event`);
    } catch (e) {
      results.push({ ...x, ok: false, why: e.message });
      continue;
    }
    const atSize = (s) => s.inbound?.frameWidth === x.width && s.inbound?.frameHeight === x.height;
    r = await pollStats(page, atSize, switchTimeoutMs, +(opt['poll-ms'] ?? 200));
    if (!r.ok) {
      results.push({ ...x, ok: false, why: `never reached ${size} within ${switchTimeoutMs / 1000} s; last: ${fmt(r.s)}` });
      continue;
    }
    const switchS = (Date.now() - tSwitch) / 1000;
    if (opt['switch-max-ms'] && switchS * 1000 > +opt['switch-max-ms']) {
      results.push({ ...x, ok: false, why: `the switch to ${size} took ${(switchS * 1000).toFixed(0)} ms > ${opt['switch-max-ms']} ms` });
      log(`substream ${x.substream}: FAILED: switch took ${(switchS * 1000).toFixed(0)} ms`);
      continue;
    }
    const start = r.s.inbound.framesDecoded;
    const tStart = Date.now();
    const left = Math.max(1000, switchTimeoutMs - (Date.now() - tSwitch));
    // Frames must keep coming at this size: the size may not change while we count.
    r = await pollStats(page, (s) => !atSize(s) || s.inbound.framesDecoded - start >= minFrames, left);
    const n = r.s.inbound ? r.s.inbound.framesDecoded - start : 0;
    const secs = (Date.now() - tStart) / 1000;
    if (r.ok && atSize(r.s)) {
      results.push({ ...x, ok: true, why: `${n} frames decoded at ${size} in ${secs.toFixed(1)} s (~${(n / secs).toFixed(0)} fps), switch took ${(switchS * 1000).toFixed(0)} ms` });
    } else {
      results.push({ ...x, ok: false, why: `only ${n} frames at ${size} (need ${minFrames}); last: ${fmt(r.s)}` });
    }
    log(`substream ${x.substream}: ${results.at(-1).ok ? 'ok' : 'FAILED'}: ${fmt(r.s)}`);
  }

  const keepS = +opt['keep-open-s'];
  if (keepS > 0) {
    log(`keeping the viewer open for ${keepS} s`);
    const end = Date.now() + keepS * 1000;
    while (Date.now() < end && !finished) { await sleep(Math.min(5000, end - Date.now())); log(fmt(await pageStats(page))); }
  }

  await janusPost(`/${session}`, { janus: 'destroy' }).catch(() => {});
  console.log('');
  for (const x of results) console.log(`${x.ok ? 'PASS' : 'FAIL'} substream ${x.substream} (${x.width}x${x.height}): ${x.why}`);
  if (joinFail) console.log(`FAIL ${joinFail}`);
  const passed = results.filter((x) => x.ok).length;
  console.log(`watch: ${passed} passed, ${results.length - passed + (joinFail ? 1 : 0)} failed`);
  return passed === results.length && !joinFail ? 0 : 1;
}

main().then(
  (code) => { clearTimeout(deadline); return shutdown(code); },
  (e) => { clearTimeout(deadline); console.error(`[watch ${elapsed()}s] FAIL: ${e.message}`); return shutdown(1); },
);
