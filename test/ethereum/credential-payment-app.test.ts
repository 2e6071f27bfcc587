// The pay-for-credential app: Hana the holder offers a price for a credential, Ivan the issuer
// takes it by revealing his signature over the credential digest. The off-chain rule
// (src/channels/ethereum/apps/credential-payment.ts) and the contract (CredentialPaymentApp.sol,
// called with staticCall) accept and refuse the same transitions with the same reasons, field by
// field and under fast-check; the digest is canonical; and the dispute paths through the
// Adjudicator pay Ivan on delivery and refund Hana when nobody delivers.
import fc from 'fast-check';
import {
  Contract,
  Wallet,
  computeAddress,
  getBytes,
  hexlify,
  keccak256,
  parseEther,
  toUtf8Bytes,
} from 'ethers';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { App } from '../../src/channels/app.js';
import { InvalidStateError, InvalidTransitionError } from '../../src/channels/errors.js';
import { DisputePhase } from '../../src/channels/ethereum/adjudicator.js';
import { artifact } from '../../src/channels/ethereum/artifacts.js';
import { stateArg } from '../../src/channels/ethereum/contracts.js';
import { AdjudicatorSubscription, type AdjudicatorEvent } from '../../src/channels/ethereum/events.js';
import { EthereumSigner, ethSignedDigest } from '../../src/channels/ethereum/signer.js';
import { revertReason } from '../../src/channels/ethereum/tx.js';
import {
  channelId,
  ethParticipant,
  type Hex,
  type Params,
  type State,
} from '../../src/channels/ethereum/encoding.js';
import {
  credentialDigest,
  credentialPaymentApp,
  decodeCredentialPaymentData,
  deliver,
  encodeDelivery,
  encodeOffer,
  signCredential,
  verifyCredentialSignature,
} from '../../src/channels/ethereum/apps/credential-payment.js';
import { HOLDER_A, allocation, ledgerParams } from './fixtures.js';
import { expectRefused, signed, startWorld, type Party, type World } from './harness.js';

let world: World;
let hana: Party;
let ivan: Party;
let app: App;
let contract: Contract;
const mallory = EthereumSigner.random();

beforeAll(async () => {
  world = await startWorld();
  hana = world.party(4, 'Hana');
  ivan = world.party(5, 'Ivan');
  app = credentialPaymentApp(world.deployment.credentialPaymentApp);
  contract = new Contract(app.address, artifact('CredentialPaymentApp').abi, world.chain.provider());
}, 30_000);
afterAll(async () => {
  await world?.stop();
});

const degree = {
  '@context': ['https://www.w3.org/2018/credentials/v1'],
  type: ['VerifiableCredential', 'UniversityDegreeCredential'],
  issuer: 'did:example:ivan',
  issuanceDate: '2024-05-01T00:00:00Z',
  credentialSubject: {
    id: 'did:example:hana',
    degree: { type: 'BachelorDegree', name: 'Bachelor of Science', honours: true, year: 2024 },
  },
  proof: { type: 'EcdsaSecp256k1Signature2019', jws: 'eyJhbGciOiJFUzI1NksifQ..c2ln' },
};
const PRICE = parseEther('0.3');

// ---------------------------------------------------------------------------------------------
// The two judges of one transition: undefined when accepted, else the reason.

interface Move {
  params: Params;
  from: State;
  to: State;
  actor: number;
}

function offChain({ params, from, to, actor }: Move): string | undefined {
  try {
    app.validTransition(params, from, to, actor);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidTransitionError);
    expect((err as InvalidTransitionError).code).toBe('APP_RULE');
    return (err as Error).message;
  }
}

async function onChain({ params, from, to, actor }: Move): Promise<string | undefined> {
  try {
    await contract.getFunction('validTransition').staticCall(params, stateArg(from), stateArg(to), actor);
    return undefined;
  } catch (err) {
    const reason = revertReason(err);
    if (reason === undefined) throw err;
    return reason;
  }
}

/** Hana's offer of PRICE for `degree` (two assets, asset 1 untouched), and Ivan's delivery. */
function scene(): Move {
  const params = ledgerParams([hana.signer.address, ivan.signer.address], { app: app.address });
  const digest = credentialDigest(degree);
  const from: State = {
    channelID: channelId(params),
    version: 3n,
    outcome: allocation(
      world.chainId,
      [world.deployment.assetHolderETH, world.deployment.assetHolderERC20],
      [
        [parseEther('1'), parseEther('0.1')],
        [5n, 7n],
      ],
    ),
    appData: encodeOffer({ credentialHash: digest, price: PRICE }),
    isFinal: false,
  };
  return { params, from, to: deliver(from, signCredential(ivan.signer, digest)), actor: 1 };
}

const N = secp256k1.Point.CURVE().n;

/** The same signature with s replaced by n - s and v flipped: valid for ecrecover, refused by Sig.sol. */
function highS(sig: Hex): Hex {
  const raw = getBytes(sig);
  const s = BigInt(hexlify(raw.subarray(32, 64)));
  raw.set(getBytes('0x' + (N - s).toString(16).padStart(64, '0')), 32);
  raw[64] = raw[64] === 27 ? 28 : 27;
  return hexlify(raw);
}

const withData = (s: State, appData: Hex): State => ({ ...s, appData });
const withBalances = (s: State, balances: bigint[][]): State => ({
  ...s,
  outcome: { ...s.outcome, balances },
});
const setByte = (data: Hex, i: number, v: number): Hex =>
  data.slice(0, 2 + 2 * i) + v.toString(16).padStart(2, '0') + data.slice(4 + 2 * i);
const resize = (data: Hex, by: number): Hex =>
  by < 0 ? data.slice(0, data.length + 2 * by) : data + 'ab'.repeat(by);

/** `to` with Ivan's delivery fields replaced (and re-signed by `signer` unless a signature is given). */
function redeliver(
  m: Move,
  fields: { credentialHash?: Hex; price?: bigint; issuerSig?: Hex },
  signer: EthereumSigner = ivan.signer,
): State {
  const d = decodeCredentialPaymentData(m.to.appData);
  const credentialHash = fields.credentialHash ?? d.credentialHash;
  const issuerSig = fields.issuerSig ?? signCredential(signer, credentialHash);
  return withData(m.to, encodeDelivery({ credentialHash, price: fields.price ?? d.price, issuerSig }));
}

const moved = (m: Move, holderPays: bigint, issuerGets: bigint): State => {
  const [h, i] = m.from.outcome.balances[0] as [bigint, bigint];
  return withBalances(m.to, [[h - holderPays, i + issuerGets], ...m.to.outcome.balances.slice(1)]);
};

const otherHash = keccak256(toUtf8Bytes('another credential'));

const MUTATIONS: Array<[string, string, (m: Move) => Move]> = [
  ['Hana acts', 'actor not issuer', (m) => ({ ...m, actor: 0 })],
  ['a third participant acts', 'actor not issuer', (m) => ({ ...m, actor: 2 })],
  [
    'three participants',
    'two participants',
    (m) => ({
      ...m,
      params: { ...m.params, participants: [...m.params.participants, ethParticipant(HOLDER_A)] },
    }),
  ],
  ['Hana signs the credential', 'bad issuer signature', (m) => ({ ...m, to: redeliver(m, {}, hana.signer) })],
  ['Mallory signs the credential', 'bad issuer signature', (m) => ({ ...m, to: redeliver(m, {}, mallory) })],
  [
    'Ivan signed another hash',
    'bad issuer signature',
    (m) => ({ ...m, to: redeliver(m, { issuerSig: signCredential(ivan.signer, otherHash) }) }),
  ],
  [
    'the signature has a high s',
    'bad issuer signature',
    (m) => {
      const { issuerSig } = decodeCredentialPaymentData(m.to.appData) as { issuerSig: Hex };
      return { ...m, to: redeliver(m, { issuerSig: highS(issuerSig) }) };
    },
  ],
  [
    'the signature has v = 29',
    'bad issuer signature',
    (m) => ({ ...m, to: withData(m.to, setByte(m.to.appData, 129, 29)) }),
  ],
  [
    'the price moved is 1 more',
    'holder must pay price',
    (m) => ({ ...m, to: moved(m, PRICE + 1n, PRICE + 1n) }),
  ],
  [
    'the price moved is 1 less',
    'holder must pay price',
    (m) => ({ ...m, to: moved(m, PRICE - 1n, PRICE - 1n) }),
  ],
  [
    'Ivan takes 1 more than Hana pays',
    'issuer must get price',
    (m) => ({ ...m, to: moved(m, PRICE, PRICE + 1n) }),
  ],
  ['nothing moves', 'holder must pay price', (m) => ({ ...m, to: moved(m, 0n, 0n) })],
  [
    'the other asset changes',
    'other assets changed',
    (m) => ({ ...m, to: withBalances(m.to, [m.to.outcome.balances[0]!, [6n, 6n]]) }),
  ],
  [
    'the other asset disappears',
    'balances malformed',
    (m) => ({ ...m, to: withBalances(m.to, [m.to.outcome.balances[0]!]) }),
  ],
  ['the delivery is not final', 'not final', (m) => ({ ...m, to: { ...m.to, isFinal: false } })],
  [
    'the delivery says OFFERED',
    'to not delivered',
    (m) => ({ ...m, to: withData(m.to, setByte(m.to.appData, 64, 0)) }),
  ],
  [
    'the offer says DELIVERED',
    'from not offered',
    (m) => ({ ...m, from: withData(m.from, setByte(m.from.appData, 64, 1)) }),
  ],
  ['the progress starts from a delivery', 'from not offered', (m) => ({ ...m, from: m.to })],
  [
    'the delivery is truncated',
    'to not delivered',
    (m) => ({ ...m, to: withData(m.to, resize(m.to.appData, -1)) }),
  ],
  [
    'the delivery is extended',
    'to not delivered',
    (m) => ({ ...m, to: withData(m.to, resize(m.to.appData, 1)) }),
  ],
  [
    'the offer is truncated',
    'from not offered',
    (m) => ({ ...m, from: withData(m.from, resize(m.from.appData, -1)) }),
  ],
  [
    'the offer is extended',
    'from not offered',
    (m) => ({ ...m, from: withData(m.from, resize(m.from.appData, 1)) }),
  ],
  [
    'the delivery names another credential (signed by Ivan)',
    'credential changed',
    (m) => ({ ...m, to: redeliver(m, { credentialHash: otherHash }) }),
  ],
  [
    'the delivery names another price',
    'price changed',
    (m) => ({ ...m, to: redeliver(m, { price: PRICE + 1n }) }),
  ],
  [
    'the offer is more than Hana has',
    'holder must pay price',
    (m) => {
      const price = parseEther('2');
      const credentialHash = decodeCredentialPaymentData(m.from.appData).credentialHash;
      const from = withData(m.from, encodeOffer({ credentialHash, price }));
      return {
        ...m,
        from,
        to: withBalances(redeliver({ ...m, from }, { price }), [
          [0n, price],
          [5n, 7n],
        ]),
      };
    },
  ],
];

describe('the rule, off chain and on chain', () => {
  it('both accept Ivan delivering the credential and taking the price', async () => {
    const m = scene();
    expect(m.to.version).toBe(m.from.version + 1n);
    expect(m.to.outcome.balances).toEqual([
      [parseEther('0.7'), parseEther('0.4')],
      [5n, 7n],
    ]);
    expect(offChain(m)).toBeUndefined();
    expect(await onChain(m)).toBeUndefined();
    const d = decodeCredentialPaymentData(m.to.appData);
    expect(d.stage).toBe('DELIVERED');
    expect((m.to.appData.length - 2) / 2).toBe(130);
    expect(
      verifyCredentialSignature(
        credentialDigest(degree),
        (d as { issuerSig: Hex }).issuerSig,
        ivan.signer.address,
      ),
    ).toBe(true);
  });

  it('the high-s twin of a signature is the same signature to ecrecover (so only Sig.sol tells them apart)', () => {
    const digest = credentialDigest(degree);
    const raw = getBytes(highS(signCredential(ivan.signer, digest)));
    const rec = new Uint8Array([raw[64]! - 27, ...raw.subarray(0, 64)]);
    const key = secp256k1.recoverPublicKey(rec, ethSignedDigest(getBytes(digest)), { prehash: false });
    expect(computeAddress(hexlify(key))).toBe(ivan.signer.address);
    expect(verifyCredentialSignature(digest, hexlify(raw), ivan.signer.address)).toBe(false);
  });

  it.each(MUTATIONS)('both refuse when %s: "%s"', async (_what, reason, mutate) => {
    const m = mutate(scene());
    expect(offChain(m)).toBe(reason);
    expect(await onChain(m)).toBe(reason);
  });

  it('agree on generated deliveries and their mutations (both outcomes occur)', async () => {
    const seen = { accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(arbMove(), async (m) => {
        const off = offChain(m);
        expect(await onChain(m)).toBe(off);
        seen[off === undefined ? 'accepted' : 'refused']++;
      }),
      { numRuns: 300 },
    );
    expect(seen.accepted).toBeGreaterThan(30);
    expect(seen.refused).toBeGreaterThan(30);
  });
});

// ---------------------------------------------------------------------------------------------
// Generated moves: a valid delivery over 1-3 assets, then up to three mutations, some of which
// happen to change nothing.

const arbBalance = fc.bigInt({ min: 0n, max: 10n ** 21n });

const arbValidMove: fc.Arbitrary<Move> = fc
  .record({
    holder: arbBalance,
    issuer: arbBalance,
    share: fc.oneof(fc.constant(0n), fc.constant(1000n), fc.bigInt({ min: 0n, max: 1000n })),
    others: fc.array(fc.tuple(arbBalance, arbBalance), { maxLength: 2 }),
    credentialHash: fc.uint8Array({ minLength: 32, maxLength: 32 }).map(hexlify),
    version: fc.bigInt({ min: 0n, max: 1000n }),
  })
  .map(({ holder, issuer, share, others, credentialHash, version }) => {
    const price = (holder * share) / 1000n;
    const params = ledgerParams([hana.signer.address, ivan.signer.address], { app: app.address });
    const holders = [world.deployment.assetHolderETH, world.deployment.assetHolderERC20, HOLDER_A];
    const from: State = {
      channelID: channelId(params),
      version,
      outcome: allocation(world.chainId, holders.slice(0, 1 + others.length), [
        [holder, issuer],
        ...others.map(([a, b]) => [a, b]),
      ]),
      appData: encodeOffer({ credentialHash, price }),
      isFinal: false,
    };
    return { params, from, to: deliver(from, signCredential(ivan.signer, credentialHash)), actor: 1 };
  });

const bump = (s: State, asset: number, p: number, d: bigint): State => {
  const row = s.outcome.balances[asset];
  if (row === undefined) return s;
  return withBalances(
    s,
    s.outcome.balances.map((r, a) =>
      a === asset ? r.map((x, q) => (q === p ? (x + d < 0n ? 0n : x + d) : x)) : r,
    ),
  );
};

const decodable = (data: Hex): boolean => {
  try {
    decodeCredentialPaymentData(data);
    return true;
  } catch {
    return false;
  }
};

type Side = 'from' | 'to';
const onSide = (m: Move, side: Side, f: (s: State) => State): Move => ({ ...m, [side]: f(m[side]) });
const arbSide = fc.constantFrom<Side>('from', 'to');

const arbMutation: fc.Arbitrary<(m: Move) => Move> = fc.oneof(
  fc.integer({ min: 0, max: 3 }).map((actor) => (m: Move) => ({ ...m, actor })),
  fc
    .tuple(fc.constantFrom('Hana', 'Mallory', 'Ivan'), fc.constantFrom('plain', 'other hash', 'high s'))
    .map(([who, kind]) => (m: Move) => {
      if (!decodable(m.to.appData)) return m;
      const signer = who === 'Hana' ? hana.signer : who === 'Ivan' ? ivan.signer : mallory;
      const hash =
        kind === 'other hash' ? otherHash : decodeCredentialPaymentData(m.to.appData).credentialHash;
      const sig = signCredential(signer, hash);
      return { ...m, to: redeliver(m, { issuerSig: kind === 'high s' ? highS(sig) : sig }) };
    }),
  fc
    .tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 1 }), fc.bigInt({ min: -2n, max: 2n }))
    .map(
      ([asset, p, d]) =>
        (m: Move) =>
          onSide(m, 'to', (s) => bump(s, asset, p, d)),
    ),
  fc
    .tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 1 }), fc.bigInt({ min: -2n, max: 2n }))
    .map(
      ([asset, p, d]) =>
        (m: Move) =>
          onSide(m, 'from', (s) => bump(s, asset, p, d)),
    ),
  fc.constant((m: Move) => onSide(m, 'to', (s) => ({ ...s, isFinal: !s.isFinal }))),
  fc.tuple(arbSide, fc.integer({ min: 0, max: 129 }), fc.integer({ min: 0, max: 255 })).map(
    ([side, i, v]) =>
      (m: Move) =>
        onSide(m, side, (s) => (2 + 2 * i < s.appData.length ? withData(s, setByte(s.appData, i, v)) : s)),
  ),
  fc.tuple(arbSide, fc.integer({ min: 0, max: 2 })).map(
    ([side, stage]) =>
      (m: Move) =>
        onSide(m, side, (s) => withData(s, setByte(s.appData, 64, stage))),
  ),
  fc.tuple(arbSide, fc.integer({ min: -3, max: 3 })).map(
    ([side, by]) =>
      (m: Move) =>
        onSide(m, side, (s) => withData(s, resize(s.appData, by))),
  ),
  fc.constant((m: Move) => ({ ...m, from: m.to })),
  fc.constant((m: Move) => ({
    ...m,
    params: { ...m.params, participants: [...m.params.participants, ethParticipant(HOLDER_A)] },
  })),
);

function arbMove(): fc.Arbitrary<Move> {
  return fc
    .tuple(
      arbValidMove,
      fc.oneof(
        { weight: 2, arbitrary: fc.constant([]) },
        { weight: 5, arbitrary: fc.array(arbMutation, { minLength: 1, maxLength: 3 }) },
      ),
    )
    .map(([m, mutations]) => mutations.reduce((acc, f) => f(acc), m));
}

// ---------------------------------------------------------------------------------------------

describe('credentialDigest', () => {
  it('is keccak256 of the sorted, compact JSON without the proof', () => {
    expect(credentialDigest({ b: 1, a: [{ d: 2.5, c: 'x' }, null, true], proof: { jws: 'z' } })).toBe(
      keccak256(toUtf8Bytes('{"a":[{"c":"x","d":2.5},null,true],"b":1}')),
    );
  });

  it('does not depend on the order of keys, at any depth', () => {
    const reorder = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(reorder);
      if (v !== null && typeof v === 'object') {
        return Object.fromEntries(
          Object.entries(v)
            .reverse()
            .map(([k, x]) => [k, reorder(x)]),
        );
      }
      return v;
    };
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (c) => {
        expect(credentialDigest(reorder(c) as object)).toBe(credentialDigest(c));
      }),
      { numRuns: 200 },
    );
  });

  it('ignores the proof and nothing else', () => {
    const { proof: _proof, ...bare } = degree;
    expect(credentialDigest(bare)).toBe(credentialDigest(degree));
    expect(credentialDigest({ ...degree, proof: { other: 'proof' } })).toBe(credentialDigest(degree));
    expect(credentialDigest({ ...degree, issuer: 'did:example:mallory' })).not.toBe(credentialDigest(degree));
    const subject = {
      ...degree.credentialSubject,
      degree: { ...degree.credentialSubject.degree, year: 2025 },
    };
    expect(credentialDigest({ ...degree, credentialSubject: subject })).not.toBe(credentialDigest(degree));
  });

  it('refuses what is not plain JSON', () => {
    expect(() => credentialDigest({ n: 1n })).toThrow(/not plain JSON/);
    expect(() => credentialDigest({ n: NaN })).toThrow(/not plain JSON/);
    expect(() => credentialDigest({ at: new Date(0) })).toThrow(/not plain JSON/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => credentialDigest(cyclic)).toThrow(/cycle/);
  });
});

describe('the app data and the initial state', () => {
  it('round-trips offers and deliveries and refuses anything else', () => {
    const credentialHash = credentialDigest(degree);
    const offer = encodeOffer({ credentialHash, price: PRICE });
    expect(decodeCredentialPaymentData(offer)).toEqual({ stage: 'OFFERED', credentialHash, price: PRICE });
    const issuerSig = signCredential(ivan.signer, credentialHash);
    expect(decodeCredentialPaymentData(encodeDelivery({ credentialHash, price: PRICE, issuerSig }))).toEqual({
      stage: 'DELIVERED',
      credentialHash,
      price: PRICE,
      issuerSig,
    });
    for (const bad of ['0x', offer.slice(0, -2), setByte(offer, 64, 1), offer + '00', 'offer']) {
      expect(() => decodeCredentialPaymentData(bad)).toThrow(expect.objectContaining({ code: 'APP_RULE' }));
    }
  });

  it('validInit takes a funded two-party offer and refuses the rest', () => {
    const { params, from } = scene();
    const init = { ...from, version: 0n };
    expect(() => app.validInit(params, init)).not.toThrow();
    const refusals: Array<[string, Params, State]> = [
      [
        'two participants',
        { ...params, participants: [...params.participants, ethParticipant(HOLDER_A)] },
        init,
      ],
      ['not an offer', params, scene().to],
      ['offer is final', params, { ...init, isFinal: true }],
      [
        'funds locked',
        params,
        {
          ...init,
          outcome: { ...init.outcome, locked: [{ ID: otherHash, balances: [1n, 0n], indexMap: [] }] },
        },
      ],
      [
        'holder cannot pay price',
        params,
        withBalances(init, [
          [PRICE - 1n, 0n],
          [0n, 0n],
        ]),
      ],
    ];
    for (const [reason, p, s] of refusals) {
      expect(() => app.validInit(p, s)).toThrow(reason);
      expect(() => app.validInit(p, s)).toThrow(InvalidStateError);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Disputes through the Adjudicator.

const fresh = () => Wallet.createRandom().address;
const balanceOf = (a: string) => world.chain.provider().getBalance(a);

/** Hana and Ivan open an ETH channel on the app with Hana's offer (1 ETH, 0) and register it. */
async function registeredOffer() {
  const params = ledgerParams([hana.signer.address, ivan.signer.address], { app: app.address });
  const credentialHash = credentialDigest(degree);
  const offer: State = {
    channelID: channelId(params),
    version: 0n,
    outcome: allocation(world.chainId, [world.deployment.assetHolderETH], [[parseEther('1'), 0n]]),
    appData: encodeOffer({ credentialHash, price: PRICE }),
    isFinal: false,
  };
  app.validInit(params, offer);
  await Promise.all([
    hana.funder.fund({ params, state: offer, idx: 0 }),
    ivan.funder.fund({ params, state: offer, idx: 1 }),
  ]);
  await hana.adjudicator.register(signed(params, offer, [hana, ivan]));
  return { params, offer, credentialHash };
}

describe('on chain', () => {
  it('Ivan delivers after the timeout, Hana learns his signature from the chain, Ivan withdraws the price', async () => {
    const start = await world.chain.provider().getBlockNumber();
    const { params, offer, credentialHash } = await registeredOffer();
    await world.chain.increaseTime(Number(params.challengeDuration));

    // Hana's own "delivery" is refused, as her move and as Ivan's.
    const forged = deliver(offer, signCredential(hana.signer, credentialHash));
    await expectRefused(
      hana.adjudicator.progress(params, offer, forged, 0, hana.signer.signState(forged)),
      'actor not issuer',
    );
    await expectRefused(
      hana.adjudicator.progress(params, offer, forged, 1, hana.signer.signState(forged)),
      'invalid signature',
    );
    // Ivan's move carrying a signature that is not his is refused too.
    await expectRefused(
      ivan.adjudicator.progress(params, offer, forged, 1, ivan.signer.signState(forged)),
      'bad issuer signature',
    );

    const delivered = deliver(offer, signCredential(ivan.signer, credentialHash));
    app.validTransition(params, offer, delivered, 1);
    await ivan.adjudicator.progress(params, offer, delivered, 1, ivan.signer.signState(delivered));
    const d = await hana.adjudicator.dispute(offer.channelID);
    expect([d.phase, d.version]).toEqual([DisputePhase.FORCEEXEC, 1n]);

    const events: AdjudicatorEvent[] = [];
    await new AdjudicatorSubscription(world.chain.provider(), {
      adjudicator: world.deployment.adjudicator,
      fromBlock: start + 1,
      channelIDs: [offer.channelID],
      onEvent: (e) => {
        events.push(e);
      },
    }).poll();
    const progressed = events.find((e) => e.kind === 'progressed')!;
    expect(progressed.actorIdx).toBe(1);
    const revealed = decodeCredentialPaymentData(progressed.state!.appData);
    expect(revealed.stage).toBe('DELIVERED');
    expect(
      verifyCredentialSignature(
        credentialHash,
        (revealed as { issuerSig: Hex }).issuerSig,
        ivan.signer.address,
      ),
    ).toBe(true);

    await ivan.adjudicator.conclude(params, delivered);
    const [rh, ri] = [fresh(), fresh()];
    await hana.adjudicator.withdraw(params, delivered, hana.signer, rh);
    await ivan.adjudicator.withdraw(params, delivered, ivan.signer, ri);
    expect(await balanceOf(ri)).toBe(PRICE);
    expect(await balanceOf(rh)).toBe(parseEther('1') - PRICE);
  });

  it('nobody delivers: Hana concludes her offer one challenge duration after the timeout and gets it all back', async () => {
    const { params, offer, credentialHash } = await registeredOffer();
    await world.chain.increaseTime(Number(params.challengeDuration));
    await expectRefused(hana.adjudicator.conclude(params, offer), 'timeout not passed yet');
    await world.chain.increaseTime(Number(params.challengeDuration));
    await hana.adjudicator.conclude(params, offer);

    const late = deliver(offer, signCredential(ivan.signer, credentialHash));
    await expectRefused(
      ivan.adjudicator.progress(params, offer, late, 1, ivan.signer.signState(late)),
      'invalid phase',
    );
    const [rh, ri] = [fresh(), fresh()];
    await hana.adjudicator.withdraw(params, offer, hana.signer, rh);
    const ivans = await ivan.adjudicator.withdraw(params, offer, ivan.signer, ri);
    expect(await balanceOf(rh)).toBe(parseEther('1'));
    expect(ivans.map((w) => w.amount)).toEqual([0n]);
    expect(await balanceOf(ri)).toBe(0n);
  });
});
