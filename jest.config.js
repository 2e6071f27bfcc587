// jest on ts-jest's ESM mode: tsc-based, so decorator metadata survives (Credo's DI needs it).
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/jest-setup.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  testTimeout: 60_000,
  maxWorkers: 2,
  // A worker exits once its event loop is empty; after the whole suite that took 0.8 s here (0.06 s
  // after test/channels alone, 0.35 s after test/agent: the teardown of what the files loaded, no
  // handle left open), past Jest's 0.5 s, which then killed it and warned of a leak. A worker still
  // running after 5 s is killed with that warning.
  workerGracefulExitTimeout: 5_000,
};
