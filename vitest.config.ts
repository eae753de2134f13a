import { defineConfig } from "vitest/config";

// Two projects: "unit" needs nothing running; "integration" gets the real
// control plane (etcd, kube-apiserver, kube-controller-manager) from the
// global setup, started once per run and stopped at the end, also on failure.
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
    ],
  },
});
