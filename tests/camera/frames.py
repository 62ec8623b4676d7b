#!/usr/bin/env python3
"""Checks what FFmpeg decoded from mixcastd's stream of vivid (the camera tests).

  frames.py RAW.yuv W H SHOWINFO.log RTP.log REF.luma [--outage REPLUG_T] [--min N]

RAW.yuv: the decoded frames as I420 (-pix_fmt yuv420p, every frame as decoded: -fps_mode passthrough);
SHOWINFO.log: FFmpeg's showinfo lines (size and pts of each frame); RTP.log: rtp_watch.py's packet log;
REF.luma: the luma plane of one frame captured from the same vivid node directly (v4l2-ctl, no mixcastd).
Every frame must be W x H and either vivid's picture or mixcastd's "no signal" placeholder:
  - vivid's default test pattern is 75 % colour bars: eight vertical bars of falling luma (white, yellow,
    cyan, green, magenta, red, blue, black). vivid writes its text (time, controls) at the top left only, so
    the bars are sampled in the lower half, in the middle of each bar's width. A frame is vivid's when the
    eight bars' medians fall from left to right and each is within 12 of the reference frame's (H.264 at a
    modest bitrate smears the edges, not the middle of a bar);
  - the placeholder is a uniform slate (luma 40) with white text: a frame is the placeholder when 90 % of
    its pixels are within 6 of 40 and the rest are text (luma over 150).
Without --outage all frames must be vivid's. With --outage (the CLOCK_MONOTONIC time the camera module
was loaded again) the stream must go vivid -> placeholder -> vivid, with no gap in the RTP sequence
numbers, and it prints the time from REPLUG_T to the arrival of the first vivid frame after the
placeholder; that must be under 2 s. Prints one JSON line with the figures; exit 0 pass, 1 fail."""
import json, re, statistics, sys

def bar_medians(frame, w, h):
    rows = range(h * 5 // 8, h * 7 // 8, max(1, h // 64))
    meds = []
    for b in range(8):
        x0, x1 = b * w // 8 + w // 32, (b + 1) * w // 8 - w // 32
        vals = [frame[y * w + x] for y in rows for x in range(x0, x1, 2)]
        meds.append(statistics.median(vals))
    return meds

def classify(frame, w, h, ref):
    meds = bar_medians(frame, w, h)
    if all(a > b for a, b in zip(meds, meds[1:])) and all(abs(m - e) <= 12 for m, e in zip(meds, ref)):
        return "vivid", meds
    sample = frame[:: 7]
    slate = sum(1 for v in sample if abs(v - 40) <= 6)
    text = sum(1 for v in sample if v > 150)
    if slate >= 0.9 * len(sample) and slate + text >= 0.97 * len(sample) and text > 0:
        return "placeholder", meds
    return "other", meds

def main():
    args = sys.argv[1:]
    outage = None
    min_frames = 5
    if "--outage" in args:
        i = args.index("--outage"); outage = float(args[i + 1]); del args[i:i + 2]
    if "--min" in args:
        i = args.index("--min"); min_frames = int(args[i + 1]); del args[i:i + 2]
    raw, w, h, showinfo, rtplog, reffile = args[0], int(args[1]), int(args[2]), args[3], args[4], args[5]
    data = open(raw, "rb").read()
    fsize = w * h * 3 // 2
    n = len(data) // fsize
    ref = bar_medians(open(reffile, "rb").read()[:w * h], w, h)
    if not all(a > b for a, b in zip(ref, ref[1:])):
        print("FAIL: the reference frame is not colour bars: %s" % ref, file=sys.stderr)
        return 1
    sizes = re.findall(r"\bs:(\d+)x(\d+)\b", open(showinfo, errors="replace").read())
    pts = [int(p) for p in re.findall(r"\bpts:\s*(-?\d+)", open(showinfo, errors="replace").read())]
    pkts = [l.split() for l in open(rtplog) if l.strip()]
    fails = []
    if n < min_frames:
        fails.append("%d frames decoded, want at least %d" % (n, min_frames))
    if len(data) % fsize:
        fails.append("decoded data is not a whole number of %dx%d frames" % (w, h))
    bad = [s for s in sizes if (int(s[0]), int(s[1])) != (w, h)]
    if bad or len(sizes) < n:
        fails.append("frame sizes: %d of %d not %dx%d (showinfo lines %d)" % (len(bad), len(sizes), w, h, len(sizes)))
    kinds = []
    for i in range(n):
        k, meds = classify(data[i * fsize:i * fsize + w * h], w, h, ref)
        kinds.append(k)
        if k == "other" and len([x for x in kinds if x == "other"]) <= 3:
            print("frame %d is neither vivid's bars nor the placeholder: bar medians %s" % (i, meds), file=sys.stderr)
    # RTP sequence numbers: every packet in order, none missing (16-bit wrap)
    seqs = [int(p[1]) for p in pkts]
    gaps = sum(1 for a, b in zip(seqs, seqs[1:]) if (b - a) & 0xffff != 1)
    if gaps:
        fails.append("%d gaps in the RTP sequence numbers" % gaps)
    result = {"reference_bars": ref, "frames": n, "vivid": kinds.count("vivid"), "placeholder": kinds.count("placeholder"),
              "other": kinds.count("other"), "rtp_packets": len(seqs), "seq_gaps": gaps}
    if kinds.count("other"):
        fails.append("%d frames are neither vivid's picture nor the placeholder" % kinds.count("other"))
    if outage is None:
        if kinds.count("vivid") != n:
            fails.append("%d of %d frames are vivid's picture" % (kinds.count("vivid"), n))
    else:
        # the sequence vivid+ placeholder+ vivid+ (in decode order)
        runs = []
        for k in kinds:
            if not runs or runs[-1][0] != k:
                runs.append([k, 0])
            runs[-1][1] += 1
        order = [r[0] for r in runs]
        result["runs"] = ["%s:%d" % (k, c) for k, c in runs]
        if order[:3] != ["vivid", "placeholder", "vivid"] or len(order) != 3:
            fails.append("expected vivid, then the placeholder, then vivid again; got %s" % result["runs"])
        else:
            # the first vivid frame after the placeholder: its pts is RTP timestamp - the first one (90 kHz)
            first_back = runs[0][1] + runs[1][1]
            ts0 = int(pkts[0][2])
            want = (ts0 + pts[first_back] * 1) & 0xffffffff if len(pts) > first_back else None
            arrival = None
            for p in pkts:
                if want is not None and int(p[2]) == want:
                    arrival = float(p[0]); break
            if arrival is None:
                fails.append("cannot find the RTP packets of the first frame after the replug")
            else:
                result["replug_to_first_camera_frame_s"] = round(arrival - outage, 3)
                if arrival - outage >= 2.0:
                    fails.append("the camera picture came back %.3f s after the replug (limit 2 s)" % (arrival - outage))
    result["pass"] = not fails
    print(json.dumps(result))
    for f in fails:
        print("FAIL: " + f, file=sys.stderr)
    return 0 if not fails else 1

sys.exit(main())
