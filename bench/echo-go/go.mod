module shardgate.local/echo-mcp

go 1.26
