// The agent's own section: balances on chain and in channels (with a bar of the two), and its
// identity (DIDs, address, chain), folded away on a phone-width window.
import { $ } from './dom.js';
import { setAmount } from './amounts.js';
import { shareBar } from './charts.js';
import { render, state } from './state.js';

/** Windows at least this wide show the identity unfolded. */
const WIDE = window.matchMedia('(min-width: 40rem)');

function renderInfo() {
  const i = state.info;
  if (!i) return;
  document.title = `${i.label} · perun-agent`;
  $('agent-label').textContent = i.label;
  $('agent-did').textContent = i.did;
  $('agent-issuer-did').textContent = i.issuerDid;
  $('agent-address').textContent = i.address;
  const chains = [...new Set(i.assets.map((a) => a.chainId ?? i.chainId))];
  $('agent-chain').textContent =
    chains.length > 1
      ? `chains ${chains.join(', ')} (primary ${i.chainId}, adjudicator ${i.adjudicator})`
      : `chain ${i.chainId}, adjudicator ${i.adjudicator}`;
  $('agent-signer').textContent = i.signer === 'ed25519' ? 'ed25519 (TON)' : `secp256k1 ${i.signer}`;
}

function renderBalance() {
  const b = state.balance;
  if (!b) return;
  // The chain's own coin: ETH, or TON on a TON node (the first of the agent's assets).
  const coin = state.info?.assets?.[0]?.symbol ?? 'ETH';
  for (const c of document.querySelectorAll('.coin')) c.textContent = coin;
  setAmount($('balance-onchain'), b.onChain, coin);
  setAmount($('balance-channels'), b.inChannels, coin);
  $('channel-count').textContent = `(${b.channels} open channel${b.channels === 1 ? '' : 's'})`;
  // With several chains, each chain's ETH and tokens, on chain and in channels.
  const perChain = $('balance-chains');
  perChain.hidden = b.chains === undefined;
  perChain.textContent = (b.chains ?? [])
    .map(
      (c) =>
        `chain ${c.chainId}: ` +
        [
          `${c.onChain} ETH (${c.inChannels} in channels)`,
          ...c.tokens.map((t) => `${t.onChain} ${t.asset} (${t.inChannels} in channels)`),
        ].join(', '),
    )
    .join('; ');
  $('balance-bar').replaceChildren(
    shareBar([
      { name: 'onchain', class: 'onchain', label: 'On chain', value: b.onChain },
      { name: 'channels', class: 'channels', label: 'In channels', value: b.inChannels },
    ]),
  );
}

/** Unfolds the identity on wide windows and folds it on narrow ones (the user may toggle it). */
export function foldIdentity() {
  const details = $('identity');
  const apply = () => {
    details.open = WIDE.matches;
  };
  apply();
  WIDE.addEventListener('change', apply);
}

render.info = renderInfo;
render.balance = renderBalance;
