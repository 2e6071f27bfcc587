// The public API of the Ethereum backend (`perun-agent/ethereum`): the backend, signer, funder and
// adjudicator the ChannelClient takes, contract deployment, configuration, and the embedded chain
// (anvil) for development and tests.
export { EthereumAdjudicator, type Dispute, type DisputePhase, type Withdrawal } from './adjudicator.js';
export { EthereumAdjudicatorAdapter, EthereumEventSource, ethereumBackend } from './backend.js';
export * from './config.js';
export * from './deploy.js';
export * from './embedded-chain.js';
export * from './encoding.js';
export { EthereumFunder, type FunderOptions, type MissingDeposit } from './funder.js';
export { ethereumLedger, type EthereumLedgerOptions } from './ledger.js';
export { secp256k1Engine, type Secp256k1EngineName } from './secp256k1-engine.js';
export * from './signer.js';
export * from './tx.js';
export {
  connectEthereumEnvironment,
  type EthereumEnvironment,
  type EthereumEnvironmentOptions,
} from './environment.js';
