#!/usr/bin/env bash
# Debian packages the tests drive for real: PostgreSQL (the activity store's
# shared backend, started by test/harness/postgres.ts) and Chromium (the
# console's browser tests, test/harness/browser.ts). Idempotent: installs only
# what is missing, so a warm machine pays nothing. Needs root (CI runs as root)
# or passwordless sudo.
set -euo pipefail

missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || missing+=(postgresql)
command -v chromium > /dev/null || missing+=(chromium)
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
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
echo "[test-deps] installed ${missing[*]} in $((SECONDS - start))s" >&2
