#!/usr/bin/env python3
"""Check that raw frames are vivid's default picture: its test pattern generator's "75% Colorbar".

    vivid_bars.py FILE FORMAT WIDTH HEIGHT FRAMES      FORMAT: nv12 | yuyv422 | gray

The file must hold exactly FRAMES frames of WIDTH x HEIGHT in FORMAT (size checked first). In each frame the
lower half (below vivid's OSD text, which it draws from the top) must be eight vertical bars of equal width,
white, yellow, cyan, green, magenta, red, blue, black at 75 % amplitude, whose luma is that of BT.601
limited range (vivid's default Y'CbCr encoding for its webcam input): Y = 16 + 219 * 0.75 * (Kr R + Kg G + Kb B),
so 180, 162, 131, 112, 84, 65, 35, 16, within TOLERANCE (env BARS_TOLERANCE, default 3; a lossy path such as
MJPEG needs more). 8 px at each bar edge are not checked (chroma subsampling and codecs blur edges).
Exit 0 when every frame matches, 1 with the first difference otherwise.
"""
import os
import sys

KR, KG, KB = 0.299, 0.587, 0.114
BARS = [(1, 1, 1), (1, 1, 0), (0, 1, 1), (0, 1, 0), (1, 0, 1), (1, 0, 0), (0, 0, 1), (0, 0, 0)]
EXPECTED = [16 + 219 * 0.75 * (KR * r + KG * g + KB * b) for r, g, b in BARS]


def frame_size(fmt, w, h):
    return {"nv12": w * h * 3 // 2, "yuyv422": w * h * 2, "gray": w * h}[fmt]


def luma_row(frame, fmt, w, y):
    if fmt == "yuyv422":
        return frame[y * w * 2:(y + 1) * w * 2:2]
    return frame[y * w:(y + 1) * w]


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    path, fmt = sys.argv[1], sys.argv[2]
    w, h, n = (int(a) for a in sys.argv[3:6])
    tol = float(os.environ.get("BARS_TOLERANCE", "3"))
    data = open(path, "rb").read()
    fs = frame_size(fmt, w, h)
    if len(data) != fs * n:
        print(f"{path}: {len(data)} bytes, expected {n} frames of {w}x{h} {fmt} = {fs * n}")
        return 1
    bw = w // 8
    for i in range(n):
        frame = data[i * fs:(i + 1) * fs]
        for y in range(h // 2, h, 7):
            row = luma_row(frame, fmt, w, y)
            for b, want in enumerate(EXPECTED):
                seg = row[b * bw + 8:(b + 1) * bw - 8]
                lo, hi = min(seg), max(seg)
                if lo < want - tol or hi > want + tol:
                    print(f"{path}: frame {i} row {y} bar {b}: luma {lo}..{hi}, expected {want:.1f} +-{tol}")
                    return 1
    print(f"{path}: {n} frames of {w}x{h} {fmt}, vivid's 75% colour bars (luma "
          f"{', '.join(f'{e:.0f}' for e in EXPECTED)}) within +-{tol:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
