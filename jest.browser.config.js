// The browser tests (`npm run test:browser`): the web page in Debian's chromium driven by
// playwright-core, against agents started in the test process. Kept out of `npm test`.
import base from './jest.config.js';

export default {
  ...base,
  roots: ['<rootDir>/test/browser'],
  testMatch: ['**/*.browser.ts'],
  testTimeout: 90_000,
  maxWorkers: 1,
};
