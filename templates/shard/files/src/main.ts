// Listens on $SHARD_HOST:$SHARD_PORT (default 0.0.0.0:8080); stops gracefully on SIGTERM.
import { runShard } from "shardgate/src/shard-kit/index.ts";
import { shard } from "./shard.ts";

await runShard(shard);
