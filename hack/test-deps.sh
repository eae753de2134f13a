#!/usr/bin/env bash
# Debian packages the tests drive for real: PostgreSQL (the activity store's
# shared backend, started by test/harness/postgres.ts), Chromium (the
# console's browser tests, test/harness/browser.ts), and for the Watchman
# shard's Docker backend a real Docker Engine (docker.io), its GET-only socket
# proxy (haproxy) and the static busybox its test image is made of
# (busybox-static), all driven by test/harness/docker.ts. Idempotent: installs only
# what is missing, so a warm machine pays nothing. Needs root (CI runs as root)
# or passwordless sudo.
set -euo pipefail

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || missing+=(postgresql)
command -v chromium > /dev/null || missing+=(chromium)
[[ -x /usr/sbin/dockerd ]] || missing+=(docker.io)
[[ -x /usr/sbin/haproxy ]] || missing+=(haproxy)
# busybox-static replaces the dynamic busybox at the same path: check the binary, not the path.
{ [[ -x /bin/busybox ]] && ! ldd /bin/busybox > /dev/null 2>&1; } || missing+=(busybox-static)
# initdb needs a UTF-8 locale or C.UTF-8 (present in Debian's libc); fonts for screenshots come with chromium.
if [[ ${#missing[@]} -eq 0 ]]; then exit 0; fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo > /dev/null || { echo "test-deps: need root to apt-get install ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "[test-deps] installing ${missing[*]} (first time on this machine)" >&2
start=$SECONDS
export DEBIAN_FRONTEND=noninteractive
# docker.io and haproxy ship services: on a machine with an init system, apt
# would start a host-wide dockerd (bridge, iptables) and haproxy. The tests
# start their own, confined ones; a policy-rc.d that says 101 keeps the
# packages' own services from starting (only when the machine has none).
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d > /dev/null
  "${sudo[@]}" chmod +x /usr/sbin/policy-rc.d
  trap '"${sudo[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
fi
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
echo "[test-deps] installed ${missing[*]} in $((SECONDS - start))s" >&2
