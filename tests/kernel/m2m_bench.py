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


def run(name, source, layers, encoder):
    conf = os.path.join(t, name + '.conf')
    with open(conf, 'w') as f:
        f.write('%s\n[track.v]\ninput = src\nencoder = %s\nlayers = %s\nkeyframe_interval = 2\nthreads = 1\n'
                '[output.rx]\ntype = rtp\ntrack = v\nhost = 127.0.0.1\nports = 17000\nrtcp = off\npacing = false\n'
                % (source, encoder, layers))
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
    ly = st['tracks'][0]['layers'][0]
    n = max(ly['frames_encoded'], 1)
    return {'run': name, 'encoder': ly['encoder'], 'frames': ly['frames_encoded'], 'wall_s': round(wall, 2),
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
os.makedirs(out, exist_ok=True)
json.dump(res, open(os.path.join(out, 'bench.json'), 'w'), indent=1)
print(json.dumps(res, indent=1))
