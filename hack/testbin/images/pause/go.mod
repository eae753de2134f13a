module shardgate.dev/testbin/images/pause

go 1.22
