// Test runner configuration: unit and property tests run in parallel; tests that start nats-server
// processes get generous time-outs because the machine is shared with the broker. The suites that run
// a 3-node cluster and restart its nodes run last, one at a time, with nothing beside them: on two
// shared cores a cluster's recovery (leader elections, JetStream coming back on a restarted node)
// otherwise takes as long as the machine is busy, and their deadlines measure the engine, not that.
import { configDefaults, defineConfig } from "vitest/config";

const CLUSTER_SUITES = ["test/fault/handover.test.ts", "test/integration/cluster.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
    projects: [
      {
        extends: true,
        test: {
          name: "suites",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...CLUSTER_SUITES],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "clusters",
          include: CLUSTER_SUITES,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
