// The channels of the agent's SQLite file as the API lists them while the node starts, before
// Credo, TypeORM, ethers and the chain are loaded: read on each request, read-only, straight
// through better-sqlite3, the rows streamed one at a time. Each is listed as stored, in the latest
// state both sides signed (perun_signed_state; a staged state is not), with `synced: false` (its
// signatures are checked and it is compared with the peer once the node runs). SQLite picks out
// the few fields the view shows from the stored JSON (parsing it in JavaScript and the garbage it
// leaves cost seconds at 10,000); a row without them is left out here and is the node's to judge.
// Left out: the virtual channels we are the intermediary of (as the node leaves them out) and
// channels in an asset other than ETH (a token's symbol and decimals come from the chain). The
// peer's connection and label are those of the newest connection whose DID is the peer's.
import Database from 'better-sqlite3';
import { formatAmount } from '../api/amounts.js';
import { isPhase } from '../../channels/types.js';
import { channelView } from './channel-view.js';
import type { ChannelView } from './types.js';

/** A channel row with the fields of its parameters and signed state the view shows. */
interface ChannelRow {
  id: string;
  our_index: number;
  parent_id: string | null;
  phase: string;
  peer_id: string | null;
  challenge_duration: unknown;
  virtual: 'true' | 'false' | null;
  /** JSON array of the participants' addresses. */
  participants: string | null;
  /** 1 where a fully signed state is stored, its fields valid or not. */
  signed: number;
  version: unknown;
  is_final: 'true' | 'false' | null;
  holder: unknown;
  /** JSON array of the participants' balances of the first asset. */
  balances: string | null;
  /** JSON array of each sub-allocation's share of the first asset. */
  locked: string | null;
  outcome_ok: number | null;
}

const CHANNEL_ROWS = `
  WITH rows AS (
    SELECT c.id, c.our_index, c.parent_id, c.phase, p.peer_id,
      CASE WHEN json_valid(c.params) THEN c.params END AS params,
      s.state IS NOT NULL AS signed,
      CASE WHEN json_valid(s.state) THEN s.state END AS state
    FROM perun_channel c
    LEFT JOIN perun_signed_state s ON s.channel_id = c.id
    LEFT JOIN perun_channel_peer p ON p.channel_id = c.id AND p.idx = 1 - c.our_index
    WHERE @id IS NULL OR lower(c.id) = lower(@id)
  )
  SELECT id, our_index, parent_id, phase, peer_id, signed,
    json_extract(params, '$.challengeDuration') AS challenge_duration,
    json_type(params, '$.virtualChannel') AS virtual,
    CASE WHEN json_type(params, '$.participants') = 'array' THEN (SELECT
      json_group_array(json_extract(value, '$.ethAddress')) FROM json_each(params, '$.participants')) END
      AS participants,
    json_extract(state, '$.version') AS version,
    json_type(state, '$.isFinal') AS is_final,
    json_extract(state, '$.outcome.assets[0].ethHolder') AS holder,
    json_extract(state, '$.outcome.balances[0]') AS balances,
    (SELECT json_group_array(json_extract(value, '$.balances[0]')) FROM json_each(state, '$.outcome.locked'))
      AS locked,
    json_type(state, '$.outcome.assets') = 'array' AND json_type(state, '$.outcome.balances') = 'array'
      AND json_type(state, '$.outcome.locked') = 'array' AS outcome_ok
  FROM rows`;

/** Our address in every ledger channel (the one a virtual channel must name to be ours). */
const OUR_ADDRESSES = `
  SELECT DISTINCT lower(json_extract(params, '$.participants[' || our_index || '].ethAddress')) AS address
  FROM perun_channel
  WHERE json_valid(params) AND json_type(params, '$.virtualChannel') = 'false'`;

/** The ETH asset holders a chain file's JSON names (one chain, or `{ chains: [...] }`), lowercased. */
export function ethHoldersOf(chainJson: unknown): Set<string> {
  const json = (typeof chainJson === 'object' && chainJson !== null ? chainJson : {}) as {
    chains?: unknown[];
  };
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

const stringsOf = (json: string | null): unknown[] | undefined => {
  const v = json === null ? undefined : (JSON.parse(json) as unknown);
  return Array.isArray(v) ? v : undefined;
};
const isDecimal = (v: unknown): v is string => typeof v === 'string' && /^\d+$/.test(v);

/**
 * The stored channels of the SQLite file `file` as the API lists them (every one `synced: false`),
 * or the one with ID `id`; ETH channels of `ethHolders` only.
 */
export function readStoredChannels(
  file: string,
  ethHolders: ReadonlySet<string>,
  id?: string,
): ChannelView[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const connections = connectionsByDid(db);
    let ours: Set<string> | undefined;
    const ourAddresses = () =>
      (ours ??= new Set(
        (db.prepare(OUR_ADDRESSES).all() as { address: string | null }[]).flatMap((r) =>
          r.address === null ? [] : [r.address],
        ),
      ));
    const views: ChannelView[] = [];
    for (const row of db.prepare(CHANNEL_ROWS).iterate({ id: id ?? null }) as IterableIterator<ChannelRow>) {
      const view = viewOf(row, ethHolders, ourAddresses, connections);
      if (view !== undefined) views.push(view);
    }
    return views;
  } finally {
    db.close();
  }
}

/** The view of `row`, or undefined where the row lacks a field the view shows or is not listed. */
function viewOf(
  row: ChannelRow,
  ethHolders: ReadonlySet<string>,
  ourAddresses: () => Set<string>,
  connections: Map<string, { id: string; label: string | undefined }>,
): ChannelView | undefined {
  const participants = stringsOf(row.participants);
  if (
    !isPhase(row.phase) ||
    !isDecimal(row.challenge_duration) ||
    row.virtual === null ||
    participants === undefined ||
    !participants.every((p): p is string => typeof p === 'string')
  )
    return undefined;
  const virtual = row.virtual === 'true';
  if (virtual && !participants.some((p) => ourAddresses().has(p.toLowerCase()))) return undefined;
  let state: { version: string; isFinal: boolean; balances: string[]; locked: unknown[] } | undefined;
  if (row.signed === 1) {
    const balances = stringsOf(row.balances) ?? [];
    const locked = stringsOf(row.locked) ?? [];
    if (
      row.outcome_ok !== 1 ||
      !isDecimal(row.version) ||
      row.is_final === null ||
      !balances.every(isDecimal) ||
      !locked.every((l) => l === null || isDecimal(l))
    )
      return undefined;
    if (typeof row.holder === 'string' && !ethHolders.has(row.holder.toLowerCase())) return undefined;
    state = { version: row.version, isFinal: row.is_final === 'true', balances, locked };
  }
  const peerDid = row.peer_id ?? '';
  const connection = connections.get(peerDid);
  return channelView(
    {
      id: row.id,
      peer: peerDid,
      idx: row.our_index,
      phase: row.phase,
      version: BigInt(state?.version ?? '0'),
      balances: (state?.balances ?? []).map(BigInt),
      locked: (state?.locked ?? []).map((l) => (isDecimal(l) ? BigInt(l) : undefined)),
      isFinal: state?.isFinal ?? false,
      challengeDuration: BigInt(row.challenge_duration),
      participants,
      virtual,
      ...(row.parent_id === null ? {} : { parent: row.parent_id }),
      queuedPayments: 0,
      synced: false,
    },
    { connectionId: connection?.id, label: connection?.label },
    { symbol: 'ETH', format: (amount) => formatAmount(amount) },
  );
}

/** How many channels the SQLite file `file` stores (the listing leaves out a few of them, see above). */
export function countStoredChannels(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM perun_channel').get() as { n: number }).n;
  } finally {
    db.close();
  }
}
