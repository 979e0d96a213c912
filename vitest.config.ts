import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globalSetup: ["test/helpers/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    reporters: ["default"],
    projects: [
      {
        extends: true,
        test: { name: "unit+integration", include: ["test/**/*.test.ts"], exclude: ["test/runtime/**"] },
      },
      {
        // Runtime tests create host-wide objects (cgroups, netns, veths, the shared bridge) and
        // check after each test that none is left: one file at a time, or they see each other's.
        extends: true,
        test: { name: "runtime", include: ["test/runtime/**/*.test.ts"], fileParallelism: false },
      },
    ],
  },
});
