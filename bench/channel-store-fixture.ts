// Many channels written straight into channel stores, for the restart benchmark (bench/restart.ts)
// and the tests of the starting view: opening 10,000 channels through the protocol takes hours,
// writing them takes seconds. Each channel is a copy of a template's parameters with its own nonce
// (so its own ID), at a version and balances of the caller's choosing, its state signed by every
// participant's real key; a store may be given a staged (not fully signed) newer state beside it.
import { ethereumBackend } from '../src/channels/ethereum/backend.js';
import type { EthereumSigner } from '../src/channels/ethereum/signer.js';
import type { ChannelPhase, ChannelStore, SignedState, StagedState } from '../src/channels/store.js';
import type { Hex, Params, State } from '../src/channels/types.js';

export interface GeneratedChannel {
  id: Hex;
  params: Params;
  signed: SignedState;
}

/** What a generated channel holds: its version and every participant's balance of its one asset. */
export interface GeneratedState {
  version: bigint;
  balances: bigint[];
}

/** Channel `i` of `template`: its parameters with nonce + i, in `at`'s state, signed by `signers`. */
export async function generatedChannel(
  template: { params: Params; state: State },
  i: number,
  at: GeneratedState,
  signers: readonly EthereumSigner[],
): Promise<GeneratedChannel> {
  const params = { ...template.params, nonce: template.params.nonce + BigInt(i) };
  const id = ethereumBackend.channelId(params) as Hex;
  const state = structuredClone(template.state);
  state.channelID = id;
  state.version = at.version;
  state.outcome.balances = [at.balances];
  const sigs = await Promise.all(signers.map((s) => s.signState(state)));
  return { id, params, signed: { state, sigs } };
}

/** Writes `channels` into `store` as participant `ourIndex`'s, in one transaction. */
export async function writeChannels(
  store: ChannelStore,
  channels: readonly GeneratedChannel[],
  o: {
    ourIndex: number;
    peers: string[];
    phase: ChannelPhase;
    /** A newer state we signed alone, staged beside channel i's signed one, if any. */
    stagedOf?: (i: number) => StagedState | undefined;
  },
): Promise<void> {
  await store.transaction(async (tx) => {
    for (const [i, c] of channels.entries()) {
      await tx.createChannel({
        id: c.id,
        params: c.params,
        ourIndex: o.ourIndex,
        peers: o.peers,
        parentId: null,
        phase: o.phase,
      });
      await tx.saveSignedState(c.id, c.signed);
      const staged = o.stagedOf?.(i);
      if (staged !== undefined) await tx.saveStagedState(c.id, staged);
    }
  });
}

/** A stopped agent's channel store and Ethereum signer, from its data directory; `close` closes both. */
export async function openStoppedAgent(dataDir: string, passphrase: string) {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { openAgentStore } = await import('../src/agent/datasource.js');
  const { PerunKeyManagementService } = await import('../src/agent/kms/PerunKeyManagementService.js');
  const { TypeOrmKmsKeyStorage } = await import('../src/agent/kms/typeorm-key-storage.js');
  const { CONFIG_FILE, databaseUrl, ETHEREUM_SECRET } = await import('../src/agent/node/config.js');
  const { EthereumSigner } = await import('../src/channels/ethereum/signer.js');
  const { TypeOrmChannelStore } = await import('../src/channels/persistence/typeorm-store.js');
  const config = JSON.parse(readFileSync(join(dataDir, CONFIG_FILE), 'utf8')) as { database: string };
  const ds = await openAgentStore(databaseUrl({ database: config.database, dataDir }));
  const kms = await PerunKeyManagementService.open({ storage: new TypeOrmKmsKeyStorage(ds), passphrase });
  const secret = await kms.getSecret<{ privateKey: Hex }>(ETHEREUM_SECRET);
  return {
    store: new TypeOrmChannelStore(ds),
    signer: new EthereumSigner(secret!.privateKey),
    close: () => ds.destroy(),
  };
}
