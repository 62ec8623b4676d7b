#!/usr/bin/env python3
"""The v4l2m2m benchmark's guest part (tools/bench-m2m runs it in the kernel lane: guest-run --modules vivid,vicodec):
the same clip through mixcastd with encoder = software (libx264) and encoder = v4l2m2m (vicodec, FWHT test
mode), one 640x360 layer (vicodec's smallest size), as fast as the encoder goes (file source, realtime = false):

  * CPU per frame of mixcastd (wait4), user and system apart: vicodec encodes in the QBUF ioctl's context
    (v4l2-mem2mem runs the job in the caller when the device is idle), so its FWHT work is mixcastd's system
    time; on a Pi that part is the encoder block, and the user time is what mixcast itself spends;
  * CPU per frame of the whole guest (/proc/stat, all but idle and iowait), for what runs elsewhere (vivid's
    picture generator); TCG's tick accounting makes it read low against wait4, so it is only a rough check;
  * copies per frame from --stats-out: the scaler's, the encoder backend's (v4l2m2m: a CPU frame is written
    once into an MMAP buffer), and device frames (DMABUF, no copy) - plus a camera run (vivid NV12 720p,
    2 s) to show the DMABUF path's zero.

  m2m_bench.py MIXCASTD FRAMES OUTDIR      prints a JSON object (and writes OUTDIR/bench.json)
  * with vim2m loaded: the 360p layer of a vivid RGB24 640x480 camera scaled by vim2m (scaler = auto) and by
    libswscale (scaler = software), both encoded by vicodec: CPU per frame, copies per frame, the scale time.
    vim2m scales in a kernel worker (not mixcastd's time: see the guest's CPU), after its 40 ms
    "transaction time"; on a Pi the ISP does that part.
TCG makes every figure far larger than on hardware: compare the two encoders with each other, not with a host."""
import json, os, subprocess, sys, tempfile, time

mixcastd, frames, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t = tempfile.mkdtemp()
clip = os.path.join(t, 'clip.y4m')
subprocess.run(['ffmpeg', '-nostdin', '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i',
                'testsrc2=size=640x360:rate=30', '-frames:v', str(frames), '-pix_fmt', 'yuv420p', clip], check=True)


def busy():
    v = [int(x) for x in open('/proc/stat').readline().split()[1:]]
    return sum(v) - v[3] - v[4]  # all but idle, iowait (clock ticks)


def run(name, source, layers, encoder, extra='', layer=0):
    conf = os.path.join(t, name + '.conf')
    ports = ', '.join(str(17000 + 2 * i) for i in range(layers.count(',') + 1))
    with open(conf, 'w') as f:
        f.write('%s\n[track.v]\ninput = src\nencoder = %s\nlayers = %s\nkeyframe_interval = 2\nthreads = 1\n%s'
                '[output.rx]\ntype = rtp\ntrack = v\nhost = 127.0.0.1\nports = %s\nrtcp = off\npacing = false\n'
                % (source, encoder, layers, extra, ports))
    stats = os.path.join(t, name + '.json')
    env = dict(os.environ, MIXCAST_TEST_V4L2M2M='fwht:' + t, MIXCAST_TEST_V4L2M2M_RAW='0')
    b0, t0 = busy(), time.monotonic()
    p = subprocess.Popen([mixcastd, '-c', conf, '--stats-out', stats], env=env, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(t, name + '.log'), 'w'))
    if 'v4l2' in source:
        time.sleep(8)
        p.terminate()
    _, status, ru = os.wait4(p.pid, 0)
    wall, guest = time.monotonic() - t0, (busy() - b0) / os.sysconf('SC_CLK_TCK')
    st = json.load(open(stats))
    ly = st['tracks'][0]['layers'][layer]
    n = max(ly['frames_encoded'], 1)
    return {'run': name, 'encoder': ly['encoder'], 'scaler': ly['scaler'], 'layer': '%dx%d' % (ly['width'], ly['height']),
            'frames': ly['frames_encoded'], 'wall_s': round(wall, 2),
            'scale_p50_us': ly['timing_us']['scale']['p50'], 'device_scaled_per_frame': round(ly['device_scaled'] / n, 3),
            'mixcastd_cpu_ms_per_frame': round(1000 * (ru.ru_utime + ru.ru_stime) / n, 2),
            'mixcastd_user_ms_per_frame': round(1000 * ru.ru_utime / n, 2),
            'mixcastd_sys_ms_per_frame': round(1000 * ru.ru_stime / n, 2),
            'guest_cpu_ms_per_frame': round(1000 * guest / n, 2),
            'scaler_copies_per_frame': round(ly['copies'] / n, 3),
            'encoder_copies_per_frame': round(ly['encoder_copies'] / n, 3),
            'source_copies_per_frame': round(st['sources'][0]['copies'] / n, 3),
            'device_frames_per_frame': round(ly['device_frames'] / n, 3), 'exit': status}


src_file = '[source.src]\ntype = file\npath = %s\nrealtime = false\nloop = false' % clip
node = None
for d in sorted(os.listdir('/sys/class/video4linux')):
    if open('/sys/class/video4linux/%s/name' % d).read().strip() == 'vivid-000-vid-cap':
        node = '/dev/' + d
res = [run('clip_software', src_file, '640x360@30:1000k', 'software'),
       run('clip_v4l2m2m', src_file, '640x360@30:1000k', 'v4l2m2m')]
if node:
    cam_src = '[source.src]\ntype = v4l2\ndevice = %s\nsize = 1280x720\nfps = 5\nformat = nv12' % node
    res.append(run('camera_v4l2m2m', cam_src, '1280x720@5:4000k', 'v4l2m2m'))
    # the pyramid's scaled layer: vim2m (a device scaler: camera DMABUF in, its own DMABUF out to vicodec)
    # against the CPU scaler (libswscale, its picture copied into vicodec's MMAP buffer), figures of the 360p layer
    if os.path.exists('/sys/module/vim2m'):
        rgb = '[source.src]\ntype = v4l2\ndevice = %s\nsize = 640x480\nfps = 5\nformat = rgb24' % node
        for sc in ('auto', 'software'):
            res.append(run('scaled_360p_scaler_' + sc, rgb, '640x480@5:3000k, 640x360@5:2000k', 'v4l2m2m',
                           'scaler = %s\n' % sc, layer=1))
os.makedirs(out, exist_ok=True)
json.dump(res, open(os.path.join(out, 'bench.json'), 'w'), indent=1)
print(json.dumps(res, indent=1))
