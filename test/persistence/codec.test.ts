// The state encoding the store writes: canonical (one spelling per value), exact for bigints of any
// size, and strict when reading back.

import { describe, expect, it } from '@jest/globals';

import {
  paramsFromJson,
  paramsToJson,
  stateFromJson,
  stateToJson,
} from '../../src/channels/persistence/codec.js';
import { CorruptRecordError, InvalidRecordError } from '../../src/channels/persistence/errors.js';
import type { State } from '../../src/channels/types.js';
import { channelId, extremeState, params, UINT256_MAX } from './fixtures.js';

describe('canonical state JSON', () => {
  const id = channelId('codec');

  it('round-trips a state at the edges of every type exactly', () => {
    const s = extremeState(id, UINT256_MAX);
    expect(stateFromJson(stateToJson(s))).toEqual(s);
    expect(paramsFromJson(paramsToJson(params(UINT256_MAX)))).toEqual(params(UINT256_MAX));
  });

  it('spells bigints as decimal strings and ignores the key order of the input', () => {
    const s = extremeState(id, 7n);
    const shuffled = Object.fromEntries(Object.entries(s).reverse()) as unknown as State;
    expect(stateToJson(shuffled)).toBe(stateToJson(s));
    expect(stateToJson(s)).toContain(`"balances":[["${UINT256_MAX}","0"]`);
    expect(stateToJson(s).startsWith(`{"channelID":"${id}","version":"7",`)).toBe(true);
  });

  it('refuses to write a number where a bigint belongs, and to read anything it did not write', () => {
    const s = extremeState(id, 1n);
    expect(() => stateToJson({ ...s, version: 1 as never })).toThrow(InvalidRecordError);
    const text = stateToJson(s);
    for (const bad of [
      text.replace('"version":"1"', '"version":1'),
      text.replace('"version":"1"', '"version":"01"'),
      text.replace('"version":"1"', '"version":"0x1"'),
      text.replace('"isFinal":true', '"isFinal":"true"'),
      text.slice(0, -1),
      'null',
    ]) {
      expect(() => stateFromJson(bad)).toThrow(CorruptRecordError);
    }
  });
});
