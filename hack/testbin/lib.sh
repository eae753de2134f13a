# Sourced by build.sh and images.sh: cache keys from the files that go into a build.

# hash_paths DIR PATH...: a short hash of the files (names and contents) under PATHs of DIR.
hash_paths() {
  local dir=$1; shift
  (cd "$dir" && find "$@" -type f ! -name '*.test.ts' ! -path '*/node_modules/*' -print0 | sort -z |
    xargs -0 sha256sum) | sha256sum | cut -c1-16
}
hash_text() { printf '%s' "$*" | sha256sum | cut -c1-16; }

# The add-ons build (CoreDNS + kube-router netpol) is keyed by its wrapper module's files.
ADDONS_KEY=$(hash_paths "$(dirname "${BASH_SOURCE[0]}")" addons)
# The bench's Go echo upstream (bench/echo-go: standard library only) is keyed by its source files.
ECHO_KEY=$(hash_paths "$(dirname "${BASH_SOURCE[0]}")/../../bench" echo-go)
