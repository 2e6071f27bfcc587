// TON fees of the Perun contract (contracts/ton/perun.tolk) on the sandbox, per operation of a
// two-party channel: the contract's gas and fees of each call, and what the calling wallet paid
// in all (its balance change, less the Toncoin the call moved). `npm run bench:gas -- --ton [--json]`.
import { randomBytes } from 'node:crypto';
import { Address as TonAddress } from '@ton/core';
import type { State } from '../src/channels/types.js';
import { SandboxTonChain, type TonWallet } from '../src/channels/ton/chain.js';
import { PerunContract } from '../src/channels/ton/contract.js';
import { channelId, tonAsset, tonParticipant, TON_BACKEND_ID } from '../src/channels/ton/encoding.js';
import { TonSigner } from '../src/channels/ton/signer.js';
import { ledgerChannel } from './ledger-channel.js';

const TON = 1_000_000_000n;

interface Row {
  op: string;
  gas: bigint;
  /** The contract transaction's fees (nanotons). */
  contractFees: bigint;
  /** What the calling wallet spent beyond the Toncoin moved (nanotons). */
  callerCost: bigint;
}

export async function tonGasBench(json: boolean): Promise<void> {
  const chain = await SandboxTonChain.create(1_700_000_000);
  const perun = new PerunContract(chain, await chain.deployPerun());
  // fixed keys: the same cells, so the same gas, every run
  const alice = new TonSigner(Buffer.alloc(32, 1));
  const bob = new TonSigner(Buffer.alloc(32, 2));
  const wa = await chain.wallet('alice');
  const wb = await chain.wallet('bob');
  const rows: Row[] = [];

  const measure = async (op: string, wallet: TonWallet, moved: bigint, call: () => Promise<void>) => {
    const from = await chain.headLt(perun.address);
    const before = await wallet.balance();
    await call();
    const txs = await chain.transactions(perun.address, from);
    const tx = txs[txs.length - 1]!;
    const spent = before - (await wallet.balance());
    rows.push({ op, gas: tx.gasUsed, contractFees: tx.fees, callerCost: spent - moved });
  };

  const channel = (nonce: bigint) =>
    ledgerChannel(
      {
        participants: [tonParticipant(alice.address), tonParticipant(bob.address)],
        asset: tonAsset(chain.chainID, perun.address),
        backendId: TON_BACKEND_ID,
        channelId,
        sign: (s) => [alice.signState(s), bob.signState(s)],
      },
      nonce,
    );
  const withdraw = (signer: TonSigner, s: State, amount: bigint) => {
    const auth = {
      channelID: s.channelID,
      participant: signer.address,
      receiver: new TonAddress(0, randomBytes(32)),
      amount,
    };
    return () => perun.withdraw(wa, auth, signer.signWithdrawal(auth));
  };

  // Happy path: deposits, concludeFinal, withdrawals.
  {
    const c = channel(1n);
    const id = c.id;
    await measure('deposit', wa, TON, () => perun.deposit(wa, id, alice.address, TON));
    await measure('deposit (second)', wb, TON, () => perun.deposit(wb, id, bob.address, TON));
    const fin = c.state(3n, (TON * 4n) / 10n, (TON * 16n) / 10n, true);
    await measure('concludeFinal', wa, 0n, () => perun.concludeFinal(wa, c.params, fin, c.sigs(fin)));
    await measure('withdraw', wa, 0n, withdraw(alice, fin, (TON * 4n) / 10n));
  }
  // Dispute path: register, refutation, conclude after the challenge duration.
  {
    const c = channel(2n);
    const id = c.id;
    await perun.deposit(wa, id, alice.address, TON);
    await perun.deposit(wb, id, bob.address, TON);
    const s1 = c.state(1n, (TON * 9n) / 10n, (TON * 11n) / 10n);
    await measure('register', wb, 0n, () =>
      perun.register(wb, { params: c.params, state: s1, sigs: c.sigs(s1) }),
    );
    const s2 = c.state(2n, (TON * 8n) / 10n, (TON * 12n) / 10n);
    await measure('register (refutation)', wa, 0n, () =>
      perun.register(wa, { params: c.params, state: s2, sigs: c.sigs(s2) }),
    );
    chain.advance(61);
    await measure('conclude', wa, 0n, () => perun.conclude(wa, c.params, s2));
  }

  const width = Math.max(...rows.map((r) => r.op.length));
  const ton = (n: bigint) => (Number(n) / 1e9).toFixed(6).padStart(10);
  console.log(
    `${'operation'.padEnd(width)}  ${'gas'.padStart(6)}  ${'contract fees TON'.padStart(17)}  ${'caller paid TON'.padStart(15)}`,
  );
  for (const r of rows) {
    console.log(
      `${r.op.padEnd(width)}  ${String(r.gas).padStart(6)}  ${ton(r.contractFees).padStart(17)}  ${ton(r.callerCost).padStart(15)}`,
    );
  }
  console.log(
    `(sandbox config of @ton/sandbox; caller paid = the wallet's fees and the contract's, the rest of the call value came back)`,
  );
  if (json) {
    console.log(
      JSON.stringify(
        Object.fromEntries(
          rows.map((r) => [
            r.op,
            { gas: Number(r.gas), contractFees: String(r.contractFees), callerCost: String(r.callerCost) },
          ]),
        ),
      ),
    );
  }
}
