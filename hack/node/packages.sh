#!/usr/bin/env bash
# Installs the Debian packages the test node and its image builds need, once:
# a no-op when all are present. Nothing is started (containerd runs only inside
# the node's namespace, started by the harness with its own config).
set -euo pipefail
packages=(containerd runc containernetworking-plugins buildah iptables debootstrap conntrack ipset socat iproute2
  fuse-overlayfs curl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
sudo=(); [[ $(id -u) -eq 0 ]] || sudo=(sudo)
echo "[node] installing Debian packages: ${missing[*]}" >&2
start=$SECONDS
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "[node] installed in $((SECONDS - start))s" >&2
