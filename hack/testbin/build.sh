#!/usr/bin/env bash
# Builds the real binaries the tests run (kube-apiserver, kube-controller-manager,
# kube-scheduler, etcd, helm, traefik, hydra) from Go modules, once per machine.
#
# Results live outside the checkout, keyed by component and version, like
# envtest's asset directory:  $SHARDGATE_TESTBIN/<component>-<version>/<binary>
# (default ~/.cache/shardgate/testbin). A finished build writes a .done stamp;
# anything without one is rebuilt. Set KUBEBUILDER_ASSETS to a directory that
# already holds kube-apiserver and etcd to use those instead of building them.
#
# Prints the directory of each component as NAME=DIR lines on stdout (also
# written to $SHARDGATE_TESTBIN/paths.env for the test harness).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
# shellcheck source=lib.sh
source "$here/lib.sh"
cache=${SHARDGATE_TESTBIN:-${XDG_CACHE_HOME:-$HOME/.cache}/shardgate/testbin}
mkdir -p "$cache"
export GOFLAGS="${GOFLAGS:-} -mod=mod -trimpath"
export CGO_ENABLED=0

log() { printf '[testbin] %s\n' "$*" >&2; }

# build COMPONENT VERSION FUNCTION: runs FUNCTION OUTDIR unless OUTDIR is stamped.
build() {
  local name=$1 version=$2 fn=$3 out="$cache/$1-$2"
  if [[ -f "$out/.done" ]]; then return 0; fi
  log "building $name $version into $out (first time on this machine)"
  local start=$SECONDS
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  "$fn" "$out.tmp"
  rm -rf "$out" && mv "$out.tmp" "$out"
  date -u +%FT%TZ > "$out/.done"
  log "built $name $version in $((SECONDS - start))s"
}

# Module wrappers are copied to a scratch dir so builds never write go.sum
# changes into the checkout.
scratch() { local d; d=$(mktemp -d); cp -r "$here/$1/." "$d/"; echo "$d"; }

kube_ldflags() {
  local minor pkg=k8s.io/component-base/version
  minor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)
  local f="-s -w -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  f+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=0000000000000000000000000000000000000000"
  echo "$f -X $pkg.buildDate=1970-01-01T00:00:00Z"
}

# The test node's kubelet and kube-proxy come from the same module and go build
# as the control plane: one invocation compiles the ~1800 packages they share once.
NODE_CMDS="k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy"

build_kubernetes() {
  local src; src=$(scratch kubernetes)
  # shellcheck disable=SC2086
  (cd "$src" && go build -ldflags "$(kube_ldflags)" -o "$1/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler $NODE_CMDS)
  # Traefik's Kubernetes CRDs ship in the traefik module; the harness installs them.
  rm -rf "$src"
}

# A kubernetes folder built before the node binaries existed (same version, same
# .done stamp) gets only kubelet + kube-proxy added: with the Go build cache that
# built the control plane still warm, that is ~130 packages and two links.
add_node_binaries() {
  local out="$cache/kubernetes-$KUBERNETES_VERSION"
  [[ -x $out/kubelet && -x $out/kube-proxy ]] && return 0
  log "adding kubelet + kube-proxy $KUBERNETES_VERSION to $out"
  local start=$SECONDS src; src=$(scratch kubernetes)
  rm -rf "$out/.node.tmp" && mkdir -p "$out/.node.tmp"
  # shellcheck disable=SC2086
  (cd "$src" && go build -ldflags "$(kube_ldflags)" -o "$out/.node.tmp/" $NODE_CMDS)
  mv "$out/.node.tmp/kubelet" "$out/.node.tmp/kube-proxy" "$out/" && rm -rf "$out/.node.tmp" "$src"
  log "added kubelet + kube-proxy in $((SECONDS - start))s"
}

# The node's add-ons (slim CoreDNS, kube-router's NetworkPolicy controller): one
# wrapper module, one go build, cached by the hash of the wrapper's files.
build_addons() {
  local src; src=$(scratch addons)
  (cd "$src" && go build -ldflags "-s -w" -o "$1/" ./coredns ./kube-router)
  rm -rf "$src"
}

build_etcd() {
  local src; src=$(scratch etcd)
  (cd "$src" && go build -ldflags "-s -w" -o "$1/etcd" .)
  rm -rf "$src"
}

build_helm() {
  local v=$HELM_VERSION
  GOBIN="$1" go install -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$v" \
    "helm.sh/helm/v3/cmd/helm@$v"
}

build_traefik() {
  local src; src=$(scratch traefik)
  local pkg=github.com/traefik/traefik/v3/pkg/version
  (cd "$src" && go build -ldflags "-s -w -X $pkg.Version=$TRAEFIK_VERSION -X $pkg.Codename=shardgate-testbin" \
    -o "$1/traefik" github.com/traefik/traefik/v3/cmd/traefik)
  # Traefik's CRD definitions (for the kubernetescrd provider tests) come from the same module.
  local mod; mod=$(cd "$src" && go list -m -f '{{.Dir}}' github.com/traefik/traefik/v3)
  cp "$mod/docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml" "$1/traefik-crds.yaml"
  chmod u+w "$1/traefik-crds.yaml"
  rm -rf "$src"
}

# The MCP echo upstream bench/gateway-overhead.ts measures the gateway against
# (no module downloads: standard library only), keyed by its source hash.
build_echo() {
  (cd "$here/../../bench/echo-go" && go build -ldflags "-s -w" -o "$1/echo-mcp" .)
}

# Hydra is built inside a copy of its released module (its go.mod, go.sum and
# pop replace as released) rather than a wrapper. Its go.mod also replaces
# hydra-client-go with ./internal/httpclient, a nested module the module zip
# leaves out, so that replace is dropped for the published v2.2.1 it requires.
# DSN=memory needs sqlite, hence cgo for this one binary.
build_hydra() {
  local v=$HYDRA_VERSION mod src pkg=github.com/ory/hydra/v2/driver/config
  mod=$(go mod download -json "github.com/ory/hydra/v2@$v" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  src=$(mktemp -d) && cp -r "$mod/." "$src/" && chmod -R u+w "$src"
  (cd "$src" && go mod edit -dropreplace github.com/ory/hydra-client-go/v2 && CGO_ENABLED=1 go build -tags sqlite,sqlite_omit_load_extension \
    -ldflags "-s -w -X $pkg.Version=$v -X $pkg.Commit=release -X $pkg.Date=1970-01-01T00:00:00Z" \
    -o "$1/hydra" .)
  rm -rf "$src"
}

# component C: builds it (unless stamped) and prints its NAME_DIR=... line.
component() {
  local c=$1
  case $c in
    kubernetes|etcd)
      if [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "$KUBEBUILDER_ASSETS/kube-apiserver" && -x "$KUBEBUILDER_ASSETS/etcd" ]]; then
        if [[ $c == kubernetes && ! -x "$KUBEBUILDER_ASSETS/kube-controller-manager" ]]; then
          build kubernetes "$KUBERNETES_VERSION" build_kubernetes; add_node_binaries
          echo "KUBERNETES_DIR=$cache/kubernetes-$KUBERNETES_VERSION"
        else
          echo "$(echo "$c" | tr a-z A-Z)_DIR=$KUBEBUILDER_ASSETS"
        fi
        return 0
      fi ;;
  esac
  case $c in
    kubernetes) build kubernetes "$KUBERNETES_VERSION" build_kubernetes; add_node_binaries
      echo "KUBERNETES_DIR=$cache/kubernetes-$KUBERNETES_VERSION" ;;
    etcd) build etcd "$ETCD_VERSION" build_etcd; echo "ETCD_DIR=$cache/etcd-$ETCD_VERSION" ;;
    helm) build helm "$HELM_VERSION" build_helm; echo "HELM_DIR=$cache/helm-$HELM_VERSION" ;;
    traefik) build traefik "$TRAEFIK_VERSION" build_traefik; echo "TRAEFIK_DIR=$cache/traefik-$TRAEFIK_VERSION" ;;
    hydra) build hydra "$HYDRA_VERSION" build_hydra; echo "HYDRA_DIR=$cache/hydra-$HYDRA_VERSION" ;;
    addons) build addons "$ADDONS_KEY" build_addons; echo "ADDONS_DIR=$cache/addons-$ADDONS_KEY" ;;
    echo) build echo "$ECHO_KEY" build_echo; echo "ECHO_DIR=$cache/echo-$ECHO_KEY" ;;
    *) echo "unknown component: $c (kubernetes etcd helm traefik addons hydra echo)" >&2; return 2 ;;
  esac
}

want=${*:-kubernetes etcd helm traefik addons hydra echo}
# The kubernetes build is the long pole of a cold machine; the other components
# build beside it (their module downloads and single-threaded links overlap its
# compiles), each writing its own line to a temp file so the output stays ordered.
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
pids=()
for c in $want; do
  if [[ $c == kubernetes ]]; then component kubernetes > "$out/0-kubernetes" & pids+=($!); fi
done
i=1
for c in $want; do [[ $c == kubernetes ]] || { component "$c" > "$out/$i-$c"; i=$((i + 1)); }; done
for p in "${pids[@]}"; do wait "$p"; done
# paths.env lists every component: a run for a few of them (the bench's
# `build.sh echo`) prints theirs without overwriting it.
if [[ $# -eq 0 ]]; then cat "$out"/* | tee "$cache/paths.env"; else cat "$out"/*; fi
