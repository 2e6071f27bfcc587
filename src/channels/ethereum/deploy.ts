// Deployment of the Perun contracts: Adjudicator, AssetHolderETH and, optionally, an ERC20
// asset holder (for a given token or a fresh test token), the trivial app and the
// pay-for-credential app.
import { ContractFactory, getAddress, type ContractRunner, type Signer } from 'ethers';
import { artifact, type ContractName } from './artifacts.js';
import type { Address } from './encoding.js';
import { ChainError } from '../errors.js';
import { waitForReceipt } from './tx.js';

export interface Deployment {
  chainId: bigint;
  adjudicator: Address;
  assetHolderETH: Address;
  /** Present when an ERC20 asset holder was deployed. */
  assetHolderERC20?: Address;
  token?: Address;
  trivialApp?: Address;
  credentialPaymentApp?: Address;
}

export interface DeployOptions {
  /** Deploy an ERC20 asset holder for this token. */
  token?: Address;
  /** Deploy a test token (PerunToken) minting `supply` to each of these accounts, and its holder. */
  testToken?: { holders: Address[]; supply: bigint };
  /** Deploy the trivial app. */
  trivialApp?: boolean;
  /** Deploy the pay-for-credential app (CredentialPaymentApp). */
  credentialPaymentApp?: boolean;
}

export async function deployContract(
  deployer: Signer,
  name: ContractName,
  args: unknown[] = [],
): Promise<Address> {
  const a = artifact(name);
  const factory = new ContractFactory(a.abi, a.bytecode, deployer as ContractRunner);
  const sent = await deployer.sendTransaction(await factory.getDeployTransaction(...args));
  const provider = deployer.provider;
  const receipt = provider === null ? null : await waitForReceipt(provider, sent.hash);
  if (receipt === null || receipt.status !== 1 || receipt.contractAddress === null) {
    throw new ChainError(`deployment of ${name} failed`, { contract: name, hash: sent.hash });
  }
  return getAddress(receipt.contractAddress);
}

/** Deploys the contracts in order, sequentially from one account. */
export async function deployContracts(deployer: Signer, options: DeployOptions = {}): Promise<Deployment> {
  const provider = deployer.provider;
  if (provider === null) throw new Error('deployer needs a provider');
  const { chainId } = await provider.getNetwork();
  const adjudicator = await deployContract(deployer, 'Adjudicator');
  const assetHolderETH = await deployContract(deployer, 'AssetHolderETH', [adjudicator]);
  const d: Deployment = { chainId, adjudicator, assetHolderETH };
  let token = options.token;
  if (options.testToken !== undefined) {
    token = await deployContract(deployer, 'PerunToken', [
      options.testToken.holders,
      options.testToken.supply,
    ]);
  }
  if (token !== undefined) {
    d.token = getAddress(token);
    d.assetHolderERC20 = await deployContract(deployer, 'AssetHolderERC20', [adjudicator, d.token]);
  }
  if (options.trivialApp === true) d.trivialApp = await deployContract(deployer, 'TrivialApp');
  if (options.credentialPaymentApp === true) {
    d.credentialPaymentApp = await deployContract(deployer, 'CredentialPaymentApp');
  }
  return d;
}
