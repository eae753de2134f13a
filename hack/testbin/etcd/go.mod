// Wrapper module: etcd's own go.mod replaces its sibling modules with local
// paths, so `go install go.etcd.io/etcd/v3` is refused. This main calls the
// server's entry point directly; the published sibling modules resolve as is.
module shardgate.dev/testbin/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 v3.5.35
