import { defineConfig } from "vitest/config";

// Three projects: "unit" needs nothing running; "integration" gets the real
// control plane (etcd, kube-apiserver, kube-controller-manager) from the
// global setup, started once per run and stopped at the end, also on failure;
// "e2e" gets its own control plane and a real node that runs pods.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "test/unit/**/*.test.ts", "cdk8s/**/*.test.ts"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "integration",
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
