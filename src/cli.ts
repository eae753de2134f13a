#!/usr/bin/env node
import { isMainThread } from "node:worker_threads";

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  console.error(
    `shardgate needs Node.js >= 22.19 (this is ${process.versions.node}); see README "Requirements"`,
  );
  process.exit(1);
}

if (isMainThread && process.argv[2] === "operator") {
  // The operator's whole command line runs in its worker thread (src/operator/thread.ts): this
  // thread only waits on it, and every CLI module loaded here (commander, zod, the config
  // schemas, pino) stayed resident for the operator's life (~25 MiB).
  const { runOperatorCliThread } = await import("./operator/thread.ts");
  await runOperatorCliThread(process.argv);
} else {
  const { runCli } = await import("./cli/main.ts");
  await runCli(process.argv);
}
