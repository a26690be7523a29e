/** Jest runs TypeScript ESM through ts-jest; the Python side is tested by pytest. */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  transform: {
    "^.+\\.ts$": ["ts-jest", { useESM: true, diagnostics: false }],
  },
  testMatch: ["<rootDir>/tests/**/*.test.ts"],
  // The build (npm run build) is tested as a package by tests/package, never resolved from here.
  modulePathIgnorePatterns: ["<rootDir>/dist/"],
  testTimeout: 120000,
  maxWorkers: 2,
};
