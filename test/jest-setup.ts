// Jest setup for every test file: a test that asserts nothing fails ("expected at least one
// assertion"), so no test passes by only running code; and the fast-check properties run on a
// random (or PROPERTY_SEED) seed that a failure prints with the command replaying it.
import { beforeEach, expect } from '@jest/globals';
import { configureProperties } from './property-seed.js';

configureProperties();

beforeEach(() => {
  expect.hasAssertions();
});
