// An address proof's address and signature must have the form of the backend it names (absent:
// ethereum): a 20-byte address with a 65-byte signature, or TON's 32-byte key with a 64-byte one.
// Found by fuzzing: a 32-byte address without `backend` was taken as a well-formed Ethereum proof.
import { JsonTransformer } from '@credo-ts/core';
import { validateSync } from 'class-validator';

import { AddressProofMessage } from '../../src/protocols/identity/messages/identity-messages.js';

const hex = (bytes: number, fill = 'ab') => '0x' + fill.repeat(bytes);

function invalidFields(fields: Record<string, unknown>): string[] {
  const json = {
    '@type': AddressProofMessage.type.messageTypeUri,
    '@id': 'f1f7c0de-0000-4000-8000-000000000001',
    '~thread': { thid: 'f1f7c0de-0000-4000-8000-000000000002' },
    ...fields,
  };
  const message = JsonTransformer.fromJSON(json, AddressProofMessage, { validate: false });
  return validateSync(message).map((e) => e.property);
}

describe('an address proof in its backend’s form', () => {
  it('takes an Ethereum proof (no backend named) and a TON proof', () => {
    expect(invalidFields({ address: hex(20), signature: hex(65) })).toEqual([]);
    expect(invalidFields({ address: hex(20), signature: hex(65), backend: 'ethereum' })).toEqual([]);
    expect(invalidFields({ address: hex(32), signature: hex(64), backend: 'ton' })).toEqual([]);
  });

  it('refuses the other backend’s forms, field by field', () => {
    expect(invalidFields({ address: hex(32), signature: hex(65) })).toEqual(['address']);
    expect(invalidFields({ address: hex(20), signature: hex(64) })).toEqual(['signature']);
    expect(invalidFields({ address: hex(20), signature: hex(64), backend: 'ton' })).toEqual(['address']);
    expect(invalidFields({ address: hex(32), signature: hex(65), backend: 'ton' })).toEqual(['signature']);
    expect(invalidFields({ address: hex(32), signature: hex(64), backend: 'cardano' }).sort()).toEqual([
      'address',
      'backend',
      'signature',
    ]);
  });
});
