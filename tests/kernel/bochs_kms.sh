#!/usr/bin/env bash
# Kernel lane smoke test (runs in the guest: guest-run --modules bochs -- tests/kernel/bochs_kms.sh KMS_DRAW):
# the bochs DRM driver is bound to QEMU's -vga std with a connected connector, and kms_draw sets a known
# picture on its CRTC at two sizes (a mode set between them) and reads each scanout back the way the kms
# source will (GetFB2 + map) to compare every pixel.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
kms_draw=${1:?usage: bochs_kms.sh KMS_DRAW}
card=$(kl_drm_card bochs-drm)
n=$(basename "$card")
for c in /sys/class/drm/"$n"-*; do
	echo "$(basename "$c"): $(<"$c/status"), modes: $(head -n 3 "$c/modes" | tr '\n' ' ')"
done
grep -qx connected /sys/class/drm/"$n"-*/status || { echo "$card: no connected connector"; exit 1; }
"$kms_draw" -c "$card" --check -t 0 -p bars 1280x720 1024x768
"$kms_draw" -d bochs-drm --check -t 0 -p gradient 1366x768
