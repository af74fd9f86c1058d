// Two groups: fast unit tests of constructs and config, and integration tests
// that start PostgreSQL, call promtool/amtool or pack the library.
// Type-checking is done once by `tsc --noEmit` (npm pretest); ts-jest only transpiles.
const tsJest = ['ts-jest', {}];

module.exports = {
  // Integration tests start PostgreSQL or pack the library; unit tests finish in milliseconds anyway.
  testTimeout: 180000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/integration/'],
      transform: { '^.+\\.ts$': tsJest },
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/integration'],
      testMatch: ['**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
    },
  ],
};
