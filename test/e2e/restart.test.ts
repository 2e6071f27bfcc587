// Alice's and Bob's agent processes restart with 2,000 channels. One channel is opened through
// the API (gated, deposited); the other 1,999 are written into both agents' SQLite files while
// they are stopped, each a state both keys signed, and Bob's copy of every tenth is one payment
// behind. After the restart both list every channel at once, each reporting whether it was
// compared with the peer yet; once both report all synced (a few batched sync messages, not one
// round trip per channel), every balance is what was stored (Bob's stale ones what Alice's newer
// state says), and payments go through on old and restored channels alike.
import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatEther, parseEther } from 'ethers';
import { openAgentStore } from '../../src/agent/datasource.js';
import { PerunKeyManagementService } from '../../src/agent/kms/PerunKeyManagementService.js';
import { TypeOrmKmsKeyStorage } from '../../src/agent/kms/typeorm-key-storage.js';
import type { RunningChain } from '../../src/agent/node/chain.js';
import { CONFIG_FILE, databaseUrl, ETHEREUM_SECRET } from '../../src/agent/node/config.js';
import type { ChannelView, PaymentView } from '../../src/agent/node/types.js';
import { AgentProcess, connectAgents, stopAllProcesses } from '../../src/agent/process/agent-process.js';
import { certifiedPair } from '../../src/agent/process/certified-pair.js';
import { ethereumBackend } from '../../src/channels/ethereum/backend.js';
import { EthereumSigner } from '../../src/channels/ethereum/signer.js';
import { TypeOrmChannelStore } from '../../src/channels/persistence/typeorm-store.js';
import type { ChannelRecord, SignedState } from '../../src/channels/store.js';
import type { Hex } from '../../src/channels/types.js';

jest.setTimeout(180_000);

const CHANNELS = 2_000;
const FUND = parseEther('0.01');
/** Wei Alice paid on restored channel i; Bob's copy of every tenth misses the last STEP of it. */
const paid = (i: number) => BigInt(i) * 1000n;
const STEP = 1000n;

let root: string;
let chain: RunningChain;
const agents: Record<'alice' | 'bob', AgentProcess> = {} as never;
/** Every channel's balances (Alice's, Bob's) as both must list them after the sync. */
const ledger = new Map<string, [bigint, bigint]>();

/** A stopped agent's channel store and Ethereum key, closed by `close`. */
async function openStopped(p: AgentProcess) {
  const config = JSON.parse(readFileSync(join(p.dataDir, CONFIG_FILE), 'utf8')) as { database: string };
  const ds = await openAgentStore(databaseUrl({ database: config.database, dataDir: p.dataDir }));
  const kms = await PerunKeyManagementService.open({
    storage: new TypeOrmKmsKeyStorage(ds),
    passphrase: p.passphrase,
  });
  const secret = await kms.getSecret<{ privateKey: string }>(ETHEREUM_SECRET);
  return {
    store: new TypeOrmChannelStore(ds),
    signer: new EthereumSigner(secret!.privateKey),
    close: () => ds.destroy(),
  };
}

/** Restored channel i: the opened channel's parameters with another nonce, at a version both signed. */
async function restoredChannel(
  template: ChannelRecord,
  i: number,
  signers: EthereumSigner[],
  behind: bigint,
) {
  const params = { ...template.params, nonce: template.params.nonce + BigInt(i) };
  const id = ethereumBackend.channelId(params) as Hex;
  const state = structuredClone(template.current!.state);
  state.channelID = id;
  state.version = BigInt(1 + (i % 5)) - (behind === 0n ? 0n : 1n);
  state.outcome.balances = [[FUND - paid(i) + behind, paid(i) - behind]];
  const signed: SignedState = { state, sigs: await Promise.all(signers.map((s) => s.signState(state))) };
  return { id, params, signed };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'perun-e2e-restart-'));
  ({ alice: agents.alice, bob: agents.bob } = await certifiedPair({
    root,
    fundEth: '10',
    onChain: (c) => (chain = c),
  }));
  const ab = await connectAgents(agents.bob, agents.alice);
  const opened = agents.bob.event((e) => e.type === 'channel-opened');
  const first = await agents.alice.api<ChannelView>('POST', '/channels', {
    connectionId: ab.id,
    fund: formatEther(FUND),
    peerFund: '0',
  });
  await opened;
  await agents.alice.api<PaymentView>('POST', `/channels/${first.id}/payments`, {
    amount: formatEther(STEP),
  });
  ledger.set(first.id.toLowerCase(), [FUND - STEP, STEP]);
  await Promise.all([agents.alice.stop(), agents.bob.stop()]);

  const [alice, bob] = await Promise.all([openStopped(agents.alice), openStopped(agents.bob)]);
  try {
    const template = (await alice.store.getChannel(first.id as Hex))!;
    const signers = [alice.signer, bob.signer];
    const made: {
      c: Awaited<ReturnType<typeof restoredChannel>>;
      stale: Awaited<ReturnType<typeof restoredChannel>>;
    }[] = [];
    for (let i = 1; i < CHANNELS; i++) {
      const c = await restoredChannel(template, i, signers, 0n);
      const stale = i % 10 === 0 ? await restoredChannel(template, i, signers, STEP) : c;
      made.push({ c, stale });
      ledger.set(c.id.toLowerCase(), [FUND - paid(i), paid(i)]);
    }
    await Promise.all(
      [alice, bob].map((side, ourIndex) =>
        side.store.transaction(async (tx) => {
          for (const { c, stale } of made) {
            await tx.createChannel({
              id: c.id,
              params: c.params,
              ourIndex,
              peers: template.peers,
              parentId: null,
              phase: template.phase,
            });
            await tx.saveSignedState(c.id, ourIndex === 0 ? c.signed : stale.signed);
          }
        }),
      ),
    );
  } finally {
    await Promise.all([alice.close(), bob.close()]);
  }
});

afterAll(async () => {
  await stopAllProcesses();
  await chain?.stop();
  if (root !== undefined) rmSync(root, { recursive: true, force: true });
});

/**
 * `p`'s channels by lower-case ID. A listing whose connection closed under it (a kept-alive socket
 * the busy agent timed out) is asked again, at most twice; an HTTP error is not.
 */
async function listing(p: AgentProcess): Promise<Map<string, ChannelView>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return new Map(
        (await p.api<ChannelView[]>('GET', '/channels')).map((v) => [v.id.toLowerCase(), v] as const),
      );
    } catch (err) {
      if (attempt === 3 || (err as { status?: unknown }).status !== undefined) throw err;
    }
  }
}

it(`restart with ${CHANNELS} channels restores every balance`, async () => {
  const [alice, bob] = await Promise.all(
    [agents.alice, agents.bob].map((p) => AgentProcess.start(p.name, p.dataDir, p.passphrase)),
  );
  // Served at once: every channel listed, in its phase, with a `synced` flag.
  for (const p of [alice!, bob!]) {
    const views = await listing(p);
    expect(views.size).toBe(CHANNELS);
    for (const v of views.values()) {
      expect(v.phase).toBe('Acting');
      expect(typeof v.synced).toBe('boolean');
    }
  }

  const deadline = Date.now() + 90_000;
  let views: [Map<string, ChannelView>, Map<string, ChannelView>];
  for (;;) {
    views = [await listing(alice!), await listing(bob!)];
    if (views.every((m) => [...m.values()].every((v) => v.synced))) break;
    if (Date.now() > deadline) throw new Error('not every channel synced within 90 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const [id, [a, b]] of ledger) {
    const [va, vb] = [views[0].get(id)!, views[1].get(id)!];
    expect(
      [va.ourBalance, va.theirBalance, vb.ourBalance, vb.theirBalance].map((x) => parseEther(x)),
    ).toEqual([a, b, b, a]);
    expect(va.version).toBe(vb.version);
  }

  // The opened channel, a restored one and one Bob caught up on pay both ways.
  for (const id of [...ledger.keys()].filter((_, i) => [0, 7, 10].includes(i))) {
    const [a, b] = ledger.get(id)!;
    const byAlice = await alice!.api<PaymentView>('POST', `/channels/${id}/payments`, {
      amount: formatEther(STEP),
    });
    expect(parseEther(byAlice.ourBalance)).toBe(a - STEP);
    const byBob = await bob!.api<PaymentView>('POST', `/channels/${id}/payments`, {
      amount: formatEther(2n * STEP),
    });
    expect(parseEther(byBob.ourBalance)).toBe(b + STEP - 2n * STEP);
  }
});
