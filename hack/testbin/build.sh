#!/usr/bin/env bash
# Builds the real binaries the tests run (kube-apiserver, kube-controller-manager,
# kube-scheduler, etcd, helm, traefik) from Go modules, once per machine.
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

build_kubernetes() {
  local src minor; src=$(scratch kubernetes)
  minor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=0000000000000000000000000000000000000000"
  ldflags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
  (cd "$src" && go build -ldflags "$ldflags" -o "$1/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler)
  # Traefik's Kubernetes CRDs ship in the traefik module; the harness installs them.
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

want=${*:-kubernetes etcd helm traefik}
paths=()
for c in $want; do
  case $c in
    kubernetes|etcd)
      if [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "$KUBEBUILDER_ASSETS/kube-apiserver" && -x "$KUBEBUILDER_ASSETS/etcd" ]]; then
        if [[ $c == kubernetes && ! -x "$KUBEBUILDER_ASSETS/kube-controller-manager" ]]; then
          build kubernetes "$KUBERNETES_VERSION" build_kubernetes
          paths+=("KUBERNETES_DIR=$cache/kubernetes-$KUBERNETES_VERSION")
        else
          paths+=("$(echo "$c" | tr a-z A-Z)_DIR=$KUBEBUILDER_ASSETS")
        fi
        continue
      fi ;;
  esac
  case $c in
    kubernetes) build kubernetes "$KUBERNETES_VERSION" build_kubernetes; paths+=("KUBERNETES_DIR=$cache/kubernetes-$KUBERNETES_VERSION") ;;
    etcd) build etcd "$ETCD_VERSION" build_etcd; paths+=("ETCD_DIR=$cache/etcd-$ETCD_VERSION") ;;
    helm) build helm "$HELM_VERSION" build_helm; paths+=("HELM_DIR=$cache/helm-$HELM_VERSION") ;;
    traefik) build traefik "$TRAEFIK_VERSION" build_traefik; paths+=("TRAEFIK_DIR=$cache/traefik-$TRAEFIK_VERSION") ;;
    *) echo "unknown component: $c (kubernetes etcd helm traefik)" >&2; exit 2 ;;
  esac
done
printf '%s\n' "${paths[@]}" | tee "$cache/paths.env"
