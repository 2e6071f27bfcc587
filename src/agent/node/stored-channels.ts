// The channels of the agent's SQLite file as the API lists them while the node starts, before
// Credo, TypeORM, ethers and the chain are loaded: read once, read-only, straight through
// better-sqlite3. Each is listed as stored, in the latest state both sides signed, with
// `synced: false` (its signatures are checked and it is compared with the peer once the node
// runs). Only the fields the view shows are read from the stored JSON (the store's strict codec
// takes 0.1 ms a channel, a second at 10,000); a row without them is left out here and is the
// node's to judge. Left out: the virtual channels we are the intermediary of (as the node leaves them out)
// and channels in an asset other than ETH (a token's symbol and decimals come from the chain).
// The peer's connection and label are those of the newest connection whose DID is the peer's.
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { formatAmount } from '../api/amounts.js';
import { isPhase } from '../../channels/types.js';
import { PHASE_WORDS } from './phase-words.js';
import type { ChannelView } from './types.js';

interface ChannelRow {
  id: string;
  params: string;
  our_index: number;
  parent_id: string | null;
  phase: string;
  state: string | null;
  peer_id: string | null;
}

/** The ETH asset holders a chain file names (one chain, or `{ chains: [...] }`), lowercased. */
export function ethHoldersOf(chainFile: string): Set<string> {
  const json = JSON.parse(readFileSync(chainFile, 'utf8')) as { chains?: unknown[] } & Record<
    string,
    unknown
  >;
  const chains = Array.isArray(json.chains) ? json.chains : [json];
  return new Set(
    chains.flatMap((c) => {
      const holder = (c as Record<string, unknown> | null)?.['assetHolderETH'];
      return typeof holder === 'string' ? [holder.toLowerCase()] : [];
    }),
  );
}

/** Our connection with each peer DID and its label: the newest, a completed one first. */
function connectionsByDid(db: Database.Database): Map<string, { id: string; label: string | undefined }> {
  const rows = db
    .prepare(`SELECT value FROM credo_record WHERE type = 'ConnectionRecord' ORDER BY created_at`)
    .all() as { value: string }[];
  const found = new Map<string, { id: string; label: string | undefined; completed: boolean }>();
  for (const { value } of rows) {
    const c = JSON.parse(value) as { id?: string; theirDid?: string; theirLabel?: string; state?: string };
    if (typeof c.id !== 'string' || typeof c.theirDid !== 'string') continue;
    const completed = c.state === 'completed';
    if (found.get(c.theirDid)?.completed === true && !completed) continue;
    found.set(c.theirDid, { id: c.id, label: c.theirLabel, completed });
  }
  return found;
}

/** What the listing shows of a channel's parameters. */
interface ParamsSeen {
  challengeDuration: string;
  participants: { ethAddress: string }[];
  virtualChannel: boolean;
}

/** What the listing shows of its latest fully signed state (amounts as decimal strings). */
interface StateSeen {
  version: string;
  isFinal: boolean;
  outcome: {
    assets: { ethHolder: string }[];
    balances: string[][];
    locked: { balances: string[] }[];
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function paramsSeen(json: string): ParamsSeen | undefined {
  const p = JSON.parse(json) as unknown;
  if (!isObject(p) || typeof p['challengeDuration'] !== 'string' || typeof p['virtualChannel'] !== 'boolean')
    return undefined;
  const participants = p['participants'];
  if (
    !Array.isArray(participants) ||
    participants.some((x) => typeof (x as ParamsSeen['participants'][0])?.ethAddress !== 'string')
  )
    return undefined;
  return p as unknown as ParamsSeen;
}

function stateSeen(json: string | null): StateSeen | null | undefined {
  if (json === null) return null;
  const s = JSON.parse(json) as unknown;
  if (!isObject(s) || typeof s['version'] !== 'string' || typeof s['isFinal'] !== 'boolean') return undefined;
  const o = s['outcome'];
  if (
    !isObject(o) ||
    !Array.isArray(o['assets']) ||
    !Array.isArray(o['balances']) ||
    !Array.isArray(o['locked'])
  )
    return undefined;
  return s as unknown as StateSeen;
}

/** A stored decimal amount (0 when missing). */
const amount = (v: string | undefined) => BigInt(v ?? '0');

/** What a channel's sub-allocations hold of its first asset. */
const lockedOf = (state: StateSeen | null) =>
  (state?.outcome.locked ?? []).reduce((sum, l) => sum + amount(l.balances[0]), 0n);

/** The stored channels of the SQLite file `file` as the API lists them, every one `synced: false`. */
export function readStoredChannels(file: string, ethHolders: ReadonlySet<string>): ChannelView[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    // Each channel with its latest fully signed state and the peer's identity (two participants).
    const rows = db
      .prepare(
        `SELECT c.id, c.params, c.our_index, c.parent_id, c.phase, s.state, p.peer_id
         FROM perun_channel c
         LEFT JOIN perun_signed_state s ON s.channel_id = c.id
         LEFT JOIN perun_channel_peer p ON p.channel_id = c.id AND p.idx = 1 - c.our_index`,
      )
      .all() as ChannelRow[];
    const connections = connectionsByDid(db);
    const decoded = rows.flatMap((row) => {
      const params = paramsSeen(row.params);
      const state = stateSeen(row.state);
      return params === undefined || state === undefined ? [] : [{ row, params, state }];
    });
    // Our addresses: ours in every ledger channel (the one a virtual channel must name to be ours).
    const ours = new Set(
      decoded
        .filter((d) => !d.params.virtualChannel)
        .map((d) => d.params.participants[d.row.our_index]?.ethAddress.toLowerCase()),
    );
    return decoded.flatMap(({ row, params, state }) => {
      if (!isPhase(row.phase)) return [];
      if (params.virtualChannel && !params.participants.some((p) => ours.has(p.ethAddress.toLowerCase())))
        return [];
      const holder = state?.outcome.assets[0]?.ethHolder;
      if (holder !== undefined && !ethHolders.has(holder.toLowerCase())) return [];
      const peerDid = row.peer_id ?? '';
      return [view(row, params, state, peerDid, connections.get(peerDid))];
    });
  } finally {
    db.close();
  }
}

function view(
  row: ChannelRow,
  params: ParamsSeen,
  state: StateSeen | null,
  peerDid: string,
  connection: { id: string; label: string | undefined } | undefined,
): ChannelView {
  const idx = row.our_index;
  const balances = state?.outcome.balances[0] ?? [];
  const phase = row.phase as keyof typeof PHASE_WORDS;
  return {
    id: row.id,
    connectionId: connection?.id,
    peerDid,
    peerLabel: connection?.label,
    idx,
    phase,
    status: PHASE_WORDS[phase],
    version: state?.version ?? '0',
    asset: 'ETH',
    ourBalance: formatAmount(amount(balances[idx])),
    theirBalance: formatAmount(amount(balances[1 - idx])),
    challengeDuration: Number(params.challengeDuration),
    participants: params.participants.map((p) => p.ethAddress),
    isFinal: state?.isFinal ?? false,
    ...(row.parent_id === null ? {} : { parentId: row.parent_id }),
    virtual: params.virtualChannel,
    locked: formatAmount(lockedOf(state)),
    queuedPayments: 0,
    synced: false,
  };
}
