// Gas benchmark: deploys the contracts on the embedded chain and runs every call of a
// two-party, one-asset channel, beside the reference Perun contracts' figures.
// Usage: npm run bench:gas [-- --json]   (--json: the last line is one JSON object)
//        npm run bench:gas -- --ton [--json]   (the TON contract's fees instead: bench/gas-ton.ts)
import { Wallet, keccak256, parseEther, toUtf8Bytes, type TransactionReceipt } from 'ethers';
import { EmbeddedChain } from '../src/channels/ethereum/embedded-chain.js';
import { deployContracts } from '../src/channels/ethereum/deploy.js';
import { EthereumAdjudicator } from '../src/channels/ethereum/adjudicator.js';
import { EthereumSigner } from '../src/channels/ethereum/signer.js';
import { TxSender } from '../src/channels/ethereum/tx.js';
import { assetHolderContract, erc20Contract } from '../src/channels/ethereum/contracts.js';
import {
  channelId,
  ethAsset,
  ethParticipant,
  fundingId,
  ETH_BACKEND_ID,
  type Address,
} from '../src/channels/ethereum/encoding.js';
import { tonGasBench } from './gas-ton.js';
import { ledgerChannel } from './ledger-channel.js';

/**
 * Reference perun-eth-contracts v1.0 figures for the same cases, measured on one chain beside ours
 * (solc 0.8.28, optimizer 200; docs/contracts.md, Gas). `null`: no reference figure for that case.
 */
const REFERENCE = {
  deposit_eth: { ref: 45_801, what: 'ETH deposit, fresh funding ID' },
  concludeFinal: { ref: 152_433, what: 'concludeFinal, 2 parties, never registered' },
  register_first: { ref: 109_634, what: 'first register of a lone ledger channel' },
  register_refutation: { ref: 77_656, what: 'register of a newer state, refuting the registered one' },
  conclude: { ref: 104_000, what: 'conclude after the dispute (register, refutation, challenge duration)' },
  withdraw_eth: { ref: 45_360, what: 'ETH withdrawal' },
  happy_path_total: { ref: 334_743, what: '2 ETH deposits + concludeFinal + 2 withdrawals' },
  dispute_path_total: {
    ref: 473_612,
    what: '2 ETH deposits + register + refutation + conclude + 2 withdrawals',
  },
  deposit_erc20: { ref: null, what: 'ERC20 deposit into a holder that holds tokens' },
  deposit_erc20_first: { ref: null, what: 'first ERC20 deposit into an empty holder' },
  deposit_erc20_topup: { ref: null, what: 'ERC20 top-up of a funded funding ID' },
  withdraw_erc20: { ref: null, what: 'ERC20 withdrawal' },
} satisfies Record<string, { ref: number | null; what: string }>;

type Key = keyof typeof REFERENCE;

const gas = (r: TransactionReceipt | undefined): number => {
  if (r === undefined) throw new Error('no receipt');
  return Number(r.gasUsed);
};

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  if (process.argv.includes('--ton')) return tonGasBench(json);
  const chain = await EmbeddedChain.start();
  try {
    const deployer = chain.wallet(0);
    const d = await deployContracts(deployer, {
      testToken: { holders: chain.accounts.map((a) => a.address), supply: parseEther('1000') },
    });
    const provider = chain.provider();
    const mk = (i: number) => {
      const tx = new TxSender(new Wallet(chain.accounts[i]!.privateKey, provider));
      // Channel keys are fixed so that the calldata, and with it the gas, is the same every run.
      const signer = new EthereumSigner(keccak256(toUtf8Bytes(`perun-agent gas bench ${i}`)));
      return { tx, signer, adj: new EthereumAdjudicator(tx, d.adjudicator) };
    };
    const alice = mk(1);
    const bob = mk(2);
    const ethHolder = assetHolderContract(d.assetHolderETH, provider);
    const ercHolder = assetHolderContract(d.assetHolderERC20!, provider);
    const token = erc20Contract(d.token!, provider);

    const channel = (holder: Address, nonce: bigint) =>
      ledgerChannel(
        {
          participants: [ethParticipant(alice.signer.address), ethParticipant(bob.signer.address)],
          asset: ethAsset(d.chainId, holder),
          backendId: ETH_BACKEND_ID,
          channelId,
          sign: (s) => [alice.signer.signState(s), bob.signer.signState(s)],
        },
        nonce,
      );
    const one = parseEther('1');
    const depositETH = (p: typeof alice, id: string) =>
      p.tx.send(ethHolder, 'deposit', [fundingId(id, p.signer.address), one], one);
    const depositERC20 = async (p: typeof alice, id: string) => {
      await p.tx.send(token, 'approve', [d.assetHolderERC20, one]);
      return p.tx.send(ercHolder, 'deposit', [fundingId(id, p.signer.address), one]);
    };

    const r = {} as Record<Key, number>;
    // Happy path, ETH: two deposits, concludeFinal, two withdrawals.
    {
      const c = channel(d.assetHolderETH, 1n);
      const id = c.id;
      const deps = [gas(await depositETH(alice, id)), gas(await depositETH(bob, id))];
      const fin = c.state(5n, parseEther('0.7'), parseEther('1.3'), true);
      const cf = gas(await alice.adj.concludeFinal(c.params, fin, c.sigs(fin)));
      const wa = gas((await alice.adj.withdraw(c.params, fin, alice.signer))[0]!.receipt);
      const wb = gas((await bob.adj.withdraw(c.params, fin, bob.signer))[0]!.receipt);
      r.deposit_eth = Math.max(...deps);
      r.concludeFinal = cf;
      r.withdraw_eth = Math.max(wa, wb);
      r.happy_path_total = deps[0]! + deps[1]! + cf + wa + wb;
    }
    // ERC20: deposits (after approve), concludeFinal, withdrawals.
    {
      const c = channel(d.assetHolderERC20!, 2n);
      const id = c.id;
      // Alice's is the first deposit into the fresh asset holder, which pays for the holder's
      // token balance slot; Bob's finds the holder holding tokens, as every later deposit does.
      const deps = [gas(await depositERC20(alice, id)), gas(await depositERC20(bob, id))];
      const topup = gas(await depositERC20(alice, id));
      const fin = c.state(3n, parseEther('1.4'), parseEther('1.6'), true);
      await alice.adj.concludeFinal(c.params, fin, c.sigs(fin));
      const wa = gas((await alice.adj.withdraw(c.params, fin, alice.signer))[0]!.receipt);
      const wb = gas((await bob.adj.withdraw(c.params, fin, bob.signer))[0]!.receipt);
      r.deposit_erc20_first = deps[0]!;
      r.deposit_erc20 = deps[1]!;
      r.deposit_erc20_topup = topup;
      r.withdraw_erc20 = Math.max(wa, wb);
    }
    // Dispute path, ETH: deposits, register, refutation, conclude after the challenge duration,
    // withdrawals.
    {
      const c = channel(d.assetHolderETH, 3n);
      const id = c.id;
      const deps = [gas(await depositETH(alice, id)), gas(await depositETH(bob, id))];
      const s1 = c.state(1n, parseEther('0.9'), parseEther('1.1'));
      const reg = gas(await bob.adj.register({ params: c.params, state: s1, sigs: c.sigs(s1) }));
      const s2 = c.state(2n, parseEther('0.8'), parseEther('1.2'));
      const refute = gas(await alice.adj.register({ params: c.params, state: s2, sigs: c.sigs(s2) }));
      await chain.increaseTime(61);
      const con = gas(await alice.adj.conclude(c.params, s2));
      const wa = gas((await alice.adj.withdraw(c.params, s2, alice.signer))[0]!.receipt);
      const wb = gas((await bob.adj.withdraw(c.params, s2, bob.signer))[0]!.receipt);
      r.register_first = reg;
      r.register_refutation = refute;
      r.conclude = con;
      r.dispute_path_total = deps[0]! + deps[1]! + reg + refute + con + wa + wb;
    }

    const keys = Object.keys(REFERENCE) as Key[];
    const width = Math.max(...keys.map((k) => k.length));
    const fmt = (n: number | null) => (n === null ? '-' : n.toLocaleString('en-US')).padStart(9);
    console.log(`${'call'.padEnd(width)}  ${'ours'.padStart(9)}  ${'reference'.padStart(9)}  change  case`);
    for (const k of keys) {
      const { ref, what } = REFERENCE[k];
      const pct = ref === null ? '' : `${r[k] > ref ? '+' : ''}${(((r[k] - ref) / ref) * 100).toFixed(1)}%`;
      console.log(`${k.padEnd(width)}  ${fmt(r[k])}  ${fmt(ref)}  ${pct.padStart(6)}  ${what}`);
    }
    if (json) console.log(JSON.stringify(Object.fromEntries(keys.map((k) => [k, r[k]]))));
  } finally {
    await chain.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
