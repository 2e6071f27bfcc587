// Chain files naming several chains (src/agent/node/chains.ts): today's single-chain form stays
// valid, `{ chains: [...] }` names several with distinct chain IDs, and readChainFile picks one.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readChainFile } from '../../src/agent/node/chain.js';
import { chainSetToJson, parseChainSet, readChainSet } from '../../src/agent/node/chains.js';

const chain = (chainId: string, port: number) => ({
  rpcUrl: `http://127.0.0.1:${port}`,
  chainId,
  adjudicator: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  assetHolderETH: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
  assetHoldersERC20: {},
  confirmations: 1,
});

test('a single-chain file is a set of one and is written back in the same form', () => {
  const set = parseChainSet(chain('31337', 8545));
  expect(set.map((c) => c.chainId)).toEqual([31337n]);
  expect(chainSetToJson(set)).toEqual(chain('31337', 8545));
});

test('a file naming two chains: both, in order, written back as { chains }', () => {
  const json = { chains: [chain('31337', 8545), chain('31338', 8546)] };
  const set = parseChainSet(json);
  expect(set.map((c) => [c.chainId, c.rpcUrl])).toEqual([
    [31337n, 'http://127.0.0.1:8545'],
    [31338n, 'http://127.0.0.1:8546'],
  ]);
  expect(chainSetToJson(set)).toEqual(json);
  const file = join(mkdtempSync(join(tmpdir(), 'chain-set-')), 'chains.json');
  writeFileSync(file, JSON.stringify(json));
  expect(readChainSet(file)).toHaveLength(2);
  expect(readChainFile(file).chainId).toBe(31337n);
  expect(readChainFile(file, 31338n).rpcUrl).toBe('http://127.0.0.1:8546');
  expect(() => readChainFile(file, 5n)).toThrow(/no chain with this chain ID/);
});

test('refused: two chains with one chain ID, an empty list, a malformed chain (named by its index)', () => {
  expect(() => parseChainSet({ chains: [chain('31337', 1), chain('31337', 2)] })).toThrow(
    /two chains with one chain ID/,
  );
  expect(() => parseChainSet({ chains: [] })).toThrow(/non-empty list/);
  expect(() =>
    parseChainSet({ chains: [chain('31337', 1), { ...chain('31338', 2), rpcUrl: 'ftp://x' }] }),
  ).toThrow(/chains\[1\]: rpcUrl/);
});
