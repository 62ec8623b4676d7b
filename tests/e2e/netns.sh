# shellcheck shell=bash
# Sourced by the end-to-end tests, inside their private network namespace (unshare -n): loopback plus a
# veth holding 127.0.0.2, the one address Janus gathers an ICE candidate on (../shared/TESTBEDS.md: Janus
# gathers none on lo, and Chromium connects to it through a peer-reflexive candidate).
e2e_loopback_ice() {
  ip link set lo up
  ip link add e2e0 type veth peer name e2e1
  ip link set e2e0 up
  ip link set e2e1 up
  ip addr add 127.0.0.2/32 dev e2e0
}
