module shardgate.dev/testbin/images/hello

go 1.22
