// `npm run demo`: the on-chain life of a Perun channel on the embedded chain. Alice and Bob
// fund a channel, sign a stream of off-chain payments, Bob registers an old state, Alice
// refutes it, and the channel is settled and withdrawn; a balance table at each step.
// With --json the last line is one JSON object. (The DIDComm agents arrive with issue D.)
import { Wallet, formatEther, parseEther } from 'ethers';
import { EmbeddedChain } from '../channels/ethereum/embedded-chain.js';
import { deployContracts } from '../channels/ethereum/deploy.js';
import { EthereumAdjudicator } from '../channels/ethereum/adjudicator.js';
import { EthereumFunder } from '../channels/ethereum/funder.js';
import { EthereumSigner, requireStateSignature } from '../channels/ethereum/signer.js';
import { TxSender } from '../channels/ethereum/tx.js';
import {
  channelId,
  ethAsset,
  ethParticipant,
  ETH_BACKEND_ID,
  ZERO_ADDRESS,
  type Params,
  type State,
} from '../channels/ethereum/encoding.js';

interface Person {
  name: string;
  signer: EthereumSigner;
  receiver: string;
  funder: EthereumFunder;
  adjudicator: EthereumAdjudicator;
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const payments = Number(process.argv.find((a) => a.startsWith('--payments='))?.split('=')[1] ?? 200);
  const say = (line: string) => {
    if (!json) console.log(line);
  };
  const t0 = performance.now();
  const chain = await EmbeddedChain.start();
  try {
    say(`embedded chain on ${chain.url} (chain ID ${chain.chainId})`);
    const d = await deployContracts(chain.wallet(0));
    say(`contracts: Adjudicator ${d.adjudicator}, AssetHolderETH ${d.assetHolderETH}`);
    const person = (i: number, name: string): Person => {
      const tx = new TxSender(new Wallet(chain.accounts[i]!.privateKey, chain.provider()));
      return {
        name,
        signer: EthereumSigner.random(),
        receiver: Wallet.createRandom().address,
        funder: new EthereumFunder(tx, { pollIntervalMs: 20 }),
        adjudicator: new EthereumAdjudicator(tx, d.adjudicator),
      };
    };
    const alice = person(1, 'Alice');
    const bob = person(2, 'Bob');
    const params: Params = {
      challengeDuration: 60n,
      nonce: BigInt(Wallet.createRandom().privateKey),
      participants: [ethParticipant(alice.signer.address), ethParticipant(bob.signer.address)],
      app: ZERO_ADDRESS,
      ledgerChannel: true,
      virtualChannel: false,
    };
    const id = channelId(params);
    const stateAt = (version: bigint, a: bigint, b: bigint, isFinal = false): State => ({
      channelID: id,
      version,
      outcome: {
        assets: [ethAsset(d.chainId, d.assetHolderETH)],
        backends: [ETH_BACKEND_ID],
        balances: [[a, b]],
        locked: [],
      },
      appData: '0x',
      isFinal,
    });
    const table = async (title: string, s: State) => {
      const provider = chain.provider();
      say(`\n${title} (state version ${s.version})`);
      say(`  ${'party'.padEnd(6)} ${'in channel'.padStart(12)} ${'withdrawn'.padStart(12)}`);
      for (const [i, p] of [alice, bob].entries()) {
        const onChain = await provider.getBalance(p.receiver);
        say(
          `  ${p.name.padEnd(6)} ${formatEther(s.outcome.balances[0]![i]!).padStart(12)} ${formatEther(onChain).padStart(12)}`,
        );
      }
    };

    const init = stateAt(0n, parseEther('10'), parseEther('10'));
    say(`\nAlice and Bob open channel ${id.slice(0, 18)}… and fund it with 10 ETH each`);
    await Promise.all([
      alice.funder.fund({ params, state: init, idx: 0 }),
      bob.funder.fund({ params, state: init, idx: 1 }),
    ]);
    await table('funded', init);

    // Off-chain payments: each new state is signed by the payer and countersigned by the payee.
    const amount = parseEther('0.01');
    let state = init;
    let sigs: string[] = [alice.signer.signState(init), bob.signer.signState(init)];
    const history: Array<{ state: State; sigs: string[] }> = [{ state, sigs }];
    const tp = performance.now();
    for (let i = 0; i < payments; i++) {
      const [from, to] = i % 3 === 2 ? [1, 0] : [0, 1];
      const bals = [...state.outcome.balances[0]!];
      bals[from] = bals[from]! - amount;
      bals[to] = bals[to]! + amount;
      const nextState = stateAt(state.version + 1n, bals[0]!, bals[1]!);
      const payer = from === 0 ? alice : bob;
      const payee = from === 0 ? bob : alice;
      const payerSig = payer.signer.signState(nextState);
      requireStateSignature(nextState, payerSig, payer.signer.address);
      const payeeSig = payee.signer.signState(nextState);
      requireStateSignature(nextState, payeeSig, payee.signer.address);
      state = nextState;
      sigs = from === 0 ? [payerSig, payeeSig] : [payeeSig, payerSig];
      history.push({ state, sigs });
    }
    const paymentSeconds = (performance.now() - tp) / 1000;
    await table(`${payments} signed off-chain payments (${Math.round(payments / paymentSeconds)}/s)`, state);

    const stale = history[1]!;
    say(`\nBob registers the stale version ${stale.state.version}, which pays him more`);
    await bob.adjudicator.register({ params, ...stale });
    say(`Alice refutes with version ${state.version} within the challenge duration`);
    await alice.adjudicator.register({ params, state, sigs });
    const dispute = await alice.adjudicator.dispute(id);
    say(`  registered version on-chain: ${dispute.version}`);
    await chain.increaseTime(Number(params.challengeDuration));
    say(`after the challenge duration, the latest state is concluded and both withdraw`);
    await alice.adjudicator.conclude(params, state);
    await alice.adjudicator.withdraw(params, state, alice.signer, alice.receiver);
    await bob.adjudicator.withdraw(params, state, bob.signer, bob.receiver);
    await table('settled', state);

    const provider = chain.provider();
    const onChain = [await provider.getBalance(alice.receiver), await provider.getBalance(bob.receiver)];
    const settled =
      onChain[0] === state.outcome.balances[0]![0] && onChain[1] === state.outcome.balances[0]![1];
    say(
      `\n${settled ? 'settled: on-chain balances equal the last state' : 'NOT settled'} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    if (json) {
      console.log(
        JSON.stringify({
          ok: settled,
          settled,
          payments,
          payments_per_s: Math.round(payments / paymentSeconds),
          disputed_version: Number(stale.state.version),
          final_version: Number(state.version),
          alice_eth: formatEther(onChain[0]!),
          bob_eth: formatEther(onChain[1]!),
        }),
      );
    }
    if (!settled) process.exitCode = 1;
  } finally {
    await chain.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
