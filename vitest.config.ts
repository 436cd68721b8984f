// Test runner configuration: unit and property tests run in parallel; tests that start nats-server
// processes get generous time-outs because the machine is shared with the broker.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
  },
});
