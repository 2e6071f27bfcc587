// DIDComm benchmark. By default two agent processes (`perun-agent start`, each on its own durable
// SQLite file, DIDComm over HTTP on 127.0.0.1) hold credentials from an Issuer process, open one
// credential-gated channel on the embedded chain (open_ms: presentations both ways, proposal,
// funding), then make N sequential payments, each asked of Alice's REST API (our own keep-alive
// client on node:http, not the global fetch), then N more from 64 REST clients at once on the same
// channel (batched_payments_per_s: they go in batches, one update per round trip). The time of a
// payment is split on up to 500 more sequential payments, each preceded on the same connection by
// a no-op REST call (GET /info): that call's round trip, measured beside each payment, is the REST
// part, the rest of the payment's time is DIDComm both ways and both channel cores. Then, between the
// same two processes, trust pings with response one at a time (POST /connections/:id/ping): a
// round trip through Credo's generic pipeline both ways, the baseline of the Perun lean path
// the payments take. `signer` is the agents' state signer where their info tells it.
// `fsync_p50_ms`/`fsync_p95_ms`/`fsync_mean_ms`: the disk's fdatasync latency where the stores
// live, probed just before and after the sequential payments (bench/timing.ts fsyncProbe), their
// floor in the same run; `fsync_paced_p50_ms`/`fsync_paced_mean_ms`: the same disk when a few pages
// are fsync'd after a pause of 3 ms each time (the pace of commits in the sequential payments;
// bench/timing.ts fsyncPacedProbe), to set beside the back-to-back figure (on a busy machine it
// cost us several times that, on a quiet one about the same). `alice_cpu_ms`/`bob_cpu_ms`: each
// agent process's CPU time (user and system, /proc on Linux, 10 ms ticks) per sequential payment,
// which a busy machine changes less than the rate.
// Profile the agents with PERUN_AGENT_NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR'.
// With --in-process both agents run in this process without the REST API and credentials, and a
// payment's time is split into the channel core (signing, checking, durable commits) and DIDComm
// (the lean path's envelopes and HTTP, and what else the event loop runs).
// With --stages the agents mark the stages a payment passes (src/channels/stage-trace.ts) and the
// sequential payments' time is split step by step, payer and payee (bench/stages.ts); the marks
// cost a little, so the rate of such a run is not quite that of a run without.
// Usage: npm run bench:didcomm [-- --payments N] [-- --in-process] [-- --stages] [-- --json]
//        (--json: last line is one JSON object)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet, parseEther } from 'ethers';
import { createPerunAgent } from '../src/agent/credo/agent.js';
import type { RunningChain } from '../src/agent/node/chain.js';
import { connectAgents, stopAllProcesses } from '../src/agent/process/agent-process.js';
import { openAgentStore } from '../src/agent/datasource.js';
import { PerunKeyManagementService, TypeOrmKmsKeyStorage } from '../src/agent/kms/index.js';
import { ChannelClient } from '../src/channels/client.js';
import { EthereumAdjudicator } from '../src/channels/ethereum/adjudicator.js';
import { EthereumAdjudicatorAdapter, ethereumBackend } from '../src/channels/ethereum/backend.js';
import { deployContracts } from '../src/channels/ethereum/deploy.js';
import { EmbeddedChain } from '../src/channels/ethereum/embedded-chain.js';
import { ethAsset, ETH_BACKEND_ID } from '../src/channels/ethereum/encoding.js';
import { EthereumFunder } from '../src/channels/ethereum/funder.js';
import { EthereumSigner } from '../src/channels/ethereum/signer.js';
import { TxSender } from '../src/channels/ethereum/tx.js';
import { TypeOrmChannelStore } from '../src/channels/persistence/typeorm-store.js';
import { certifiedPair } from '../src/agent/process/certified-pair.js';
import { openChannel, restClient } from './rest-client.js';
import { readMarks, stageFigures, stageTable } from './stages.js';
import {
  cpuMsOf,
  diskLine,
  fsyncFigures,
  fsyncPacedFigures,
  fsyncPacedProbe,
  fsyncProbe,
  now,
  paymentsArg,
  warmupArg,
  warmUp,
  timeInFlight,
  timePayments,
  timedBackend,
  timedSigner,
  timedStore,
  type Timers,
} from './timing.js';

const timers: Timers = {};
const coreMs = () => timers['core'] ?? 0;

const json = process.argv.includes('--json');
const stages = process.argv.includes('--stages');

/**
 * `payments` payments, each preceded by a no-op REST call on the same connection: the mean round
 * trip of the no-op (the REST part of a payment, measured at the payment's moment) and the mean
 * of each payment's time less the no-op beside it (DIDComm and the channel cores), in ms.
 */
async function restSplit(payments: number, noop: () => Promise<unknown>, pay: () => Promise<unknown>) {
  let restMs = 0;
  let payMs = 0;
  for (let i = 0; i < payments; i++) {
    const t0 = now();
    await noop();
    const t1 = now();
    await pay();
    restMs += t1 - t0;
    payMs += now() - t1;
  }
  const round = (ms: number) => Number((ms / payments).toFixed(2));
  return { payments, restMs: round(restMs), didcommMs: round(payMs - restMs) };
}

async function twoProcesses(payments: number, warmup: number): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'perun-bench-didcomm-'));
  let chain: RunningChain | undefined;
  try {
    const traces = { alice: join(root, 'alice.stages'), bob: join(root, 'bob.stages') };
    const { alice, bob } = await certifiedPair({
      root,
      fundEth: '100',
      onChain: (c) => (chain = c),
      ...(stages
        ? { env: { alice: { PERUN_STAGE_TRACE: traces.alice }, bob: { PERUN_STAGE_TRACE: traces.bob } } }
        : {}),
    });

    const tc = now();
    const ab = await connectAgents(bob, alice);
    const connectMs = now() - tc;
    const to = now();
    const channel = await openChannel(alice, bob, ab.id, '50');
    const openMs = now() - to;

    const api = restClient(alice);
    const rest = await timePayments(200, () => api.call('GET', '/info'));
    const pay = () => api.call('POST', `/channels/${channel.id}/payments`, { amount: '0.000001' });
    const warm = await warmUp(warmup, pay);
    const probe = fsyncProbe(root, 100);
    const pacedProbe = fsyncPacedProbe(root);
    const cpu0 = [cpuMsOf(alice.child.pid), cpuMsOf(bob.child.pid)];
    const sequentialFrom = process.hrtime.bigint();
    const { totalMs: total, figures } = await timePayments(payments, pay);
    const sequentialTo = process.hrtime.bigint();
    const cpu = [cpuMsOf(alice.child.pid), cpuMsOf(bob.child.pid)].map((ms, i) =>
      ms === undefined || cpu0[i] === undefined ? undefined : Number(((ms - cpu0[i]) / payments).toFixed(2)),
    );
    const disk = fsyncFigures([...probe, ...fsyncProbe(root, 100)]);
    const paced = fsyncPacedFigures([...pacedProbe, ...fsyncPacedProbe(root)]);
    const split = await restSplit(Math.min(payments, 500), () => api.call('GET', '/info'), pay);
    // 64 REST clients paying on the same channel at once: the payments go in batches.
    const many = restClient(alice, 64);
    const batched = await timeInFlight(payments, 64, () =>
      many.call('POST', `/channels/${channel.id}/payments`, { amount: '0.000001' }),
    );
    many.close();
    const history = (await api.call('GET', `/payments?channelId=${channel.id}`)) as { version: string }[];
    const perUpdate = payments / new Set(history.slice(-payments).map((p) => p.version)).size;
    const pings = Math.min(payments, 500);
    const ping = await timePayments(pings, () => api.call('POST', `/connections/${ab.id}/ping`));
    api.close();
    // The agents write their marks as they exit.
    const steps = stages
      ? await Promise.all([alice.stop(), bob.stop()]).then(() =>
          stageFigures(
            [...readMarks(traces.alice, 'payer'), ...readMarks(traces.bob, 'payee')],
            sequentialFrom,
            sequentialTo,
          ),
        )
      : undefined;
    const signer = (alice.info as { signer?: unknown }).signer;
    const result = {
      ...figures,
      ...warm.figures,
      batched_payments_per_s: batched.payments_per_s,
      batched_p50_ms: batched.p50_ms,
      batched_per_update: Number(perUpdate.toFixed(1)),
      trust_ping_rt_per_s: ping.figures.payments_per_s,
      trust_ping_p50_ms: ping.figures.p50_ms,
      ...(signer === undefined ? {} : { signer }),
      ...disk,
      ...paced,
      ...(cpu[0] === undefined || cpu[1] === undefined ? {} : { alice_cpu_ms: cpu[0], bob_cpu_ms: cpu[1] }),
      open_ms: Math.round(openMs),
      connect_ms: Math.round(connectMs),
      rest_p50_ms: rest.figures.p50_ms,
      split_payments: split.payments,
      split_rest_api_ms: split.restMs,
      split_didcomm_cores_ms: split.didcommMs,
      processes: 2,
      credential_gating: true,
      ...(steps === undefined
        ? {}
        : {
            stages_usual_payments: steps.usual,
            stages_p50_ms: Object.fromEntries(steps.steps.map((s) => [s.step, s.p50_ms])),
            stages_request_to_answer_p50_ms: steps.request_to_answer_p50_ms,
            ...(steps.answer_to_next === undefined
              ? {}
              : { stages_answer_to_next_p50_ms: steps.answer_to_next.p50_ms }),
          }),
    };
    const share = (ms: number) =>
      `${ms.toFixed(2)} ms  ${((ms / (split.restMs + split.didcommMs)) * 100).toFixed(0).padStart(3)}%`;
    console.log(
      `two agent processes; connection by invitation ${result.connect_ms} ms; gated channel open ` +
        `(presentations both ways, proposal, funding) ${result.open_ms} ms`,
    );
    if (warm.line !== undefined) console.log(warm.line);
    console.log(
      `${payments} payments over DIDComm in ${(total / 1000).toFixed(2)} s: ${result.payments_per_s} payments/s`,
    );
    console.log(`latency p50 ${result.p50_ms} ms, p95 ${result.p95_ms} ms, p99 ${result.p99_ms} ms`);
    console.log(
      `${payments} payments more from 64 REST clients at once on the same channel: ` +
        `${batched.payments_per_s} payments/s, p50 ${batched.p50_ms} ms`,
    );
    console.log(
      `${pings} trust pings with response between the same agents (Credo's pipeline both ways): ` +
        `${result.trust_ping_rt_per_s} round trips/s, p50 ${result.trust_ping_p50_ms} ms ` +
        `(payments: ${(result.payments_per_s / result.trust_ping_rt_per_s).toFixed(1)}× that)`,
    );
    console.log(
      signer === undefined
        ? 'signer: not reported by the agents (their info has no signer field)'
        : `signer: ${JSON.stringify(signer)}`,
    );
    console.log(
      `where a payment’s time goes (mean of ${split.payments} more payments, each after a GET /info):`,
    );
    console.log(`  REST round trip to Alice's API (the GET /info beside it)    ${share(split.restMs)}`);
    console.log(`  DIDComm both ways, both channel cores (the rest)            ${share(split.didcommMs)}`);
    console.log('  (npm run bench:didcomm -- --in-process splits the second line into core and DIDComm)');
    console.log(diskLine(disk));
    console.log(
      `the same disk at the payments' pace (a few pages fsync'd after a 3 ms pause): ` +
        `p50 ${paced.fsync_paced_p50_ms} ms, mean ${paced.fsync_paced_mean_ms} ms`,
    );
    if (result.alice_cpu_ms !== undefined)
      console.log(
        `CPU time a sequential payment: Alice ${result.alice_cpu_ms} ms, Bob ${result.bob_cpu_ms} ms`,
      );
    if (steps !== undefined) for (const line of stageTable(steps)) console.log(line);
    if (json) console.log(JSON.stringify(result));
  } finally {
    await stopAllProcesses();
    await chain?.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

async function inProcess(payments: number, warmup: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'perun-bench-didcomm-'));
  const chain = await EmbeddedChain.start();
  const cleanup: Array<() => Promise<unknown>> = [];
  try {
    const d = await deployContracts(chain.wallet(0));
    const make = async (i: number, name: string) => {
      const ds = await openAgentStore(join(dir, `${name}.sqlite`));
      cleanup.unshift(() => ds.destroy());
      const kms = await PerunKeyManagementService.open({
        storage: new TypeOrmKmsKeyStorage(ds),
        passphrase: name,
      });
      const agent = createPerunAgent({ label: name, dataSource: ds, kms });
      await agent.initialize();
      cleanup.unshift(() => agent.shutdown());
      const tx = new TxSender(new Wallet(chain.accounts[i]!.privateKey, chain.provider()));
      const key = new EthereumSigner(Wallet.createRandom().privateKey);
      const signer = timedSigner(key, timers, 'core');
      const backend = timedBackend(ethereumBackend, timers, 'core');
      const client = new ChannelClient({
        wire: agent.modules.perun.wire,
        signer,
        backend,
        funder: new EthereumFunder(tx),
        adjudicator: new EthereumAdjudicatorAdapter(new EthereumAdjudicator(tx, d.adjudicator), key),
        store: timedStore(new TypeOrmChannelStore(ds), timers, 'core'),
        onProposal: () => ({ accept: true }),
      });
      await client.start();
      cleanup.unshift(() => client.close());
      return { agent, client, key };
    };
    const alice = await make(1, 'alice');
    const bob = await make(2, 'bob');

    const tc = now();
    const oob = await alice.agent.didcomm.oob.createInvitation({ label: 'alice' });
    const { connectionRecord } = await bob.agent.didcomm.oob.receiveInvitationFromUrl(
      oob.outOfBandInvitation.toUrl({ domain: 'https://perun.example' }),
      { label: 'bob' },
    );
    await bob.agent.didcomm.connections.returnWhenIsConnected(connectionRecord!.id, { timeoutMs: 20_000 });
    const [pending] = await alice.agent.didcomm.connections.findAllByOutOfBandId(oob.id);
    const ab = await alice.agent.didcomm.connections.returnWhenIsConnected(pending!.id, {
      timeoutMs: 20_000,
    });
    const connectMs = now() - tc;

    const to = now();
    const opened = new Promise<void>((resolve) =>
      bob.client.on('event', (e: { type: string }) => e.type === 'opened' && resolve()),
    );
    const { id } = await alice.client.proposeChannel({
      peer: ab.theirDid!,
      peerAddress: bob.key.address,
      allocation: {
        assets: [ethAsset(d.chainId, d.assetHolderETH)],
        backends: [ETH_BACKEND_ID],
        balances: [[parseEther('10'), 0n]],
        locked: [],
      },
      challengeDuration: 3600n,
    });
    await opened;
    const openMs = now() - to;

    const warm = await warmUp(warmup, () => alice.client.sendPayment(id, 1n));
    timers['core'] = 0;
    const probe = fsyncProbe(dir, 100);
    const { totalMs: total, figures } = await timePayments(payments, () => alice.client.sendPayment(id, 1n));
    const core = coreMs();
    const disk = fsyncFigures([...probe, ...fsyncProbe(dir, 100)]);
    const batched = await timeInFlight(payments, 64, () => alice.client.sendPayment(id, 1n));
    const result = {
      ...figures,
      ...warm.figures,
      batched_payments_per_s: batched.payments_per_s,
      batched_p50_ms: batched.p50_ms,
      ...disk,
      open_ms: Math.round(openMs),
      connect_ms: Math.round(connectMs),
      processes: 1,
      credential_gating: false,
    };
    const per = (ms: number) =>
      `${(ms / payments).toFixed(2)} ms  ${((ms / total) * 100).toFixed(0).padStart(3)}%`;
    console.log(
      `connection by invitation: ${result.connect_ms} ms; channel open (proposal + funding): ${result.open_ms} ms`,
    );
    if (warm.line !== undefined) console.log(warm.line);
    console.log(
      `${payments} payments over DIDComm in ${(total / 1000).toFixed(2)} s: ${result.payments_per_s} payments/s`,
    );
    console.log(`latency p50 ${result.p50_ms} ms, p95 ${result.p95_ms} ms, p99 ${result.p99_ms} ms`);
    console.log(
      `with 64 in flight on the channel: ${batched.payments_per_s} payments/s, p50 ${batched.p50_ms} ms`,
    );
    console.log('where a sequential payment’s time goes (both agents, per payment):');
    console.log(`  channel core: signing, checks, durable commits  ${per(core)}`);
    console.log(`  DIDComm: lean path (envelopes, HTTP), the rest   ${per(total - core)}`);
    console.log(diskLine(disk));
    if (json) console.log(JSON.stringify(result));
  } finally {
    for (const c of cleanup) await c().catch(() => undefined);
    await chain.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const payments = paymentsArg(2_000);
  const warmup = warmupArg(1_000);
  if (process.argv.includes('--in-process')) await inProcess(payments, warmup);
  else await twoProcesses(payments, warmup);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
