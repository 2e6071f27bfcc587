// Connecting by JSON-RPC URL plus contract addresses: a configuration read from JSON reaches the
// embedded chain's deployment from a fresh provider and funds a channel through it; malformed
// configurations and ones that do not match the chain are refused with ConfigError.
import { createServer } from 'node:net';
import { Wallet, parseEther } from 'ethers';
import { ChainError } from '../../src/channels/errors.js';
import {
  ConfigError,
  configOfDeployment,
  connectEthereum,
  ethereumConfigToJson,
  parseEthereumConfig,
  type EthereumConfig,
} from '../../src/channels/ethereum/config.js';
import { fundingId } from '../../src/channels/ethereum/encoding.js';
import { ethChannel, startWorld, type World } from './harness.js';

let world: World;
let config: EthereumConfig;

beforeAll(async () => {
  world = await startWorld();
  config = configOfDeployment(world.chain.url, world.deployment);
});
afterAll(() => world.stop());

const key = (i: number) => world.chain.accounts[i]!.privateKey;

describe('parseEthereumConfig', () => {
  it('reads back what ethereumConfigToJson wrote, through JSON text', () => {
    const text = JSON.stringify(ethereumConfigToJson(config));
    expect(parseEthereumConfig(JSON.parse(text))).toEqual(config);
  });

  const good = () => JSON.parse(JSON.stringify(ethereumConfigToJson(config))) as Record<string, unknown>;
  it.each<[string, (c: Record<string, unknown>) => void]>([
    ['rpcUrl missing', (c) => delete c['rpcUrl']],
    ['rpcUrl not a URL', (c) => (c['rpcUrl'] = 'localhost:8545')],
    ['chainId zero', (c) => (c['chainId'] = 0)],
    ['chainId fractional', (c) => (c['chainId'] = 1.5)],
    ['chainId not numeric', (c) => (c['chainId'] = '0x7a69')],
    ['adjudicator not an address', (c) => (c['adjudicator'] = '0x1234')],
    ['assetHolderETH missing', (c) => delete c['assetHolderETH']],
    [
      'token key not an address',
      (c) => (c['assetHoldersERC20'] = { token: world.deployment.assetHolderERC20 }),
    ],
    ['holder not an address', (c) => (c['assetHoldersERC20'] = { [world.deployment.token]: 7 })],
    ['confirmations zero', (c) => (c['confirmations'] = 0)],
  ])('refuses a configuration with %s', (_, mutate) => {
    const c = good();
    mutate(c);
    expect(() => parseEthereumConfig(c)).toThrow(ConfigError);
  });

  it.each([
    ['a string', 'x'],
    ['an array', []],
    ['null', null],
  ])('refuses %s', (_, v) => {
    expect(() => parseEthereumConfig(v)).toThrow(ConfigError);
  });
});

describe('connectEthereum', () => {
  it('Alice connects by URL and addresses from a JSON file and funds a channel through it', async () => {
    const conn = await connectEthereum(parseEthereumConfig(ethereumConfigToJson(config)), key(3));
    try {
      const alice = world.party(1, 'Alice');
      const bob = world.party(2, 'Bob');
      const { params, init } = ethChannel(world, alice, bob, [parseEther('1'), 0n]);
      await conn.funder.fund({ params, state: init, idx: 0 });
      const held = await world.ethHolder
        .getFunction('holdings')
        .staticCall(fundingId(init.channelID, alice.signer.address));
      expect(held).toBe(parseEther('1'));
      expect((await conn.adjudicator.dispute(init.channelID)).registered).toBe(false);
    } finally {
      conn.close();
    }
  });

  it('refuses an endpoint that serves another chain', async () => {
    await expect(connectEthereum({ ...config, chainId: 1n }, key(3))).rejects.toMatchObject({
      code: 'CONFIG',
      details: { expected: '1', actual: world.chainId.toString() },
    });
  });

  it('refuses an address without a contract', async () => {
    const nobody = Wallet.createRandom().address;
    await expect(connectEthereum({ ...config, adjudicator: nobody }, key(3))).rejects.toMatchObject({
      code: 'CONFIG',
      details: { field: 'adjudicator' },
    });
  });

  it('refuses an asset holder that is not one, or answers to another adjudicator', async () => {
    await expect(
      connectEthereum({ ...config, assetHolderETH: world.deployment.adjudicator }, key(3)),
    ).rejects.toMatchObject({ code: 'CONFIG', details: { field: 'assetHolderETH' } });
    await expect(
      connectEthereum({ ...config, adjudicator: world.deployment.token }, key(3)),
    ).rejects.toMatchObject({ code: 'CONFIG', details: { field: 'assetHolderETH' } });
  });

  it('refuses an invalid account key', async () => {
    await expect(connectEthereum(config, '0x1234')).rejects.toBeInstanceOf(ConfigError);
  });

  it('reports an endpoint that does not answer as a ChainError', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const err = await connectEthereum({ ...config, rpcUrl: `http://127.0.0.1:${port}` }, key(3)).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ChainError);
  });
});
