// ethers Contract handles for the Perun contracts, and the ABI-shaped arguments they take.
import { Contract, Interface, type ContractRunner } from 'ethers';
import { artifact } from './artifacts.js';
import { effectiveIndexMap, type Address, type Params, type State } from './encoding.js';

export interface SignedState {
  params: Params;
  state: State;
  sigs: string[];
}

const interfaces = new Map<string, Interface>();

/** The contract's ABI as an ethers Interface, parsed once per process. */
function abiOf(name: 'Adjudicator' | 'AssetHolderERC20' | 'PerunToken'): Interface {
  let i = interfaces.get(name);
  if (i === undefined) {
    i = new Interface(artifact(name).abi);
    interfaces.set(name, i);
  }
  return i;
}

export function adjudicatorInterface(): Interface {
  return abiOf('Adjudicator');
}

export function assetHolderInterface(): Interface {
  return abiOf('AssetHolderERC20');
}

export function adjudicatorContract(address: Address, runner: ContractRunner | null): Contract {
  return new Contract(address, abiOf('Adjudicator'), runner);
}

/** An ETH or ERC20 asset holder (the ERC20 ABI is a superset). */
export function assetHolderContract(address: Address, runner: ContractRunner | null): Contract {
  return new Contract(address, abiOf('AssetHolderERC20'), runner);
}

export function erc20Contract(address: Address, runner: ContractRunner | null): Contract {
  return new Contract(address, abiOf('PerunToken'), runner);
}

/** A state as the contracts take it: empty index maps become the identity, as signed. */
export function stateArg(state: State): State {
  const numParts = state.outcome.balances[0]?.length ?? 0;
  return {
    ...state,
    outcome: {
      ...state.outcome,
      locked: state.outcome.locked.map((s) => ({ ...s, indexMap: effectiveIndexMap(s.indexMap, numParts) })),
    },
  };
}

export function signedStateArg(s: SignedState): SignedState {
  return { params: s.params, state: stateArg(s.state), sigs: s.sigs };
}
