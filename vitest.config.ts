import { defineConfig } from "vitest/config";

// The test tiers, fastest first (CONTRIBUTING.md says which one a new test
// belongs in; `make test` runs them all):
// - unit: in this process only (loopback listeners allowed, no child process,
//   no binary from make testbin); `make test-unit`, well under a minute.
// - process: starts processes (the CLI, node children, helm, openssl, npm).
// - integration: the real control plane (etcd, kube-apiserver,
//   kube-controller-manager) from the global setup, started once per run and
//   stopped at the end, also on failure.
// - e2e: a control plane of its own and a real node that runs pods (kubelet,
//   containerd, CoreDNS, kube-router); `make test-e2e`, needs root.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          // Tiers run one after another, fastest first (vitest requires a
          // group of its own for each project with its own maxWorkers).
          sequence: { groupOrder: 0 },
          include: ["src/**/*.test.ts", "test/unit/**/*.test.ts", "cdk8s/**/*.test.ts"],
          setupFiles: ["test/support/in-process-only.ts"],
          // One module graph for all files of a worker: importing the SDK,
          // fastify and zod once per worker instead of once per file halves the tier.
          isolate: false,
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "process",
          sequence: { groupOrder: 1 },
          include: ["test/process/**/*.test.ts"],
          testTimeout: 120_000,
          // Setups that start several processes (gateway-replicas starts three) outlast the 10 s default on two busy cores.
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "integration",
          sequence: { groupOrder: 2 },
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/harness/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Two cores: more workers only make every test slower.
          maxWorkers: 2,
          fileParallelism: true,
        },
      },
      {
        // Real pods: a control plane of its own plus one real node (kubelet,
        // containerd, kube-proxy, CoreDNS, kube-router) in a private network
        // namespace, shared by every file; images from `make testbin`.
        test: {
          name: "e2e",
          sequence: { groupOrder: 3 },
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/harness/node-setup.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // One node, two cores: files run one after another.
          maxWorkers: 1,
          fileParallelism: false,
        },
      },
    ],
  },
});
