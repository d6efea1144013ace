import { configDefaults, defineConfig } from "vitest/config";

// Three projects, chosen by where a test file is or what it is named:
//   unit         test/unit/**, *.unit.test.ts: pure code, no network, no database, no sshd, no
//                child processes of relctl; the whole project runs in seconds.
//   e2e          test/e2e/**, *.e2e.test.ts, and the examples' tests: several processes, real sshd.
//   integration  every other test: PostgreSQL, Redis, the emulators, local processes.
// `vitest run` runs all three; `vitest run --project unit` one of them.
const UNIT = ["packages/*/test/unit/**/*.test.ts", "packages/*/test/**/*.unit.test.ts"];
const E2E = [
  "packages/*/test/e2e/**/*.test.ts",
  "packages/*/test/**/*.e2e.test.ts",
  "examples/*/test/**/*.test.ts",
];
const ALL = ["packages/*/test/**/*.test.ts", "examples/*/test/**/*.test.ts"];

export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"], externalConditions: ["source"] } },
  test: {
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default"],
    projects: [
      // Pure tests share no state: one module graph per worker (isolate: false) keeps the project
      // at a few seconds instead of re-importing the sources for every file.
      { extends: true, test: { name: "unit", include: UNIT, isolate: false } },
      {
        extends: true,
        test: { name: "integration", include: ALL, exclude: [...configDefaults.exclude, ...UNIT, ...E2E] },
      },
      { extends: true, test: { name: "e2e", include: E2E, exclude: [...configDefaults.exclude, ...UNIT] } },
    ],
  },
});
