// The move to pairwise DIDs, for data directories from before it. Then, every connection carried
// identity DIDs (ours rotated to our identity DID, or given when we accepted; the peer's the same
// way), so the peer's DID on each connection is the identity DID its channels name and its
// verifications checked. On the first start after the move, that DID is bound to each connection
// as its peer's verified identity (the identity module's binding, which the wire names peers by),
// so every channel keeps working without any user action; a generic record says it was done, and
// connections made later are bound only by the identity gate.
import type { PerunIdentityAgent } from '../credo/agent.js';

const MIGRATION_RECORD = 'perun-pairwise-dids';

/** Binds the peers of the connections made before pairwise DIDs, once per data directory; returns how many. */
export async function bindLegacyPeers(
  agent: PerunIdentityAgent,
  log: (line: string) => void,
): Promise<number> {
  const [done] = await agent.genericRecords.findAllByQuery({ kind: MIGRATION_RECORD });
  if (done !== undefined) return 0;
  let bound = 0;
  for (const c of await agent.didcomm.connections.getAll()) {
    if (c.theirDid === undefined || agent.modules.identity.peerIdentityOf(c.id) !== undefined) continue;
    await agent.modules.identity.bindPeerIdentity(c.id, c.theirDid);
    bound++;
  }
  await agent.genericRecords.save({
    content: { at: new Date().toISOString(), bound },
    tags: { kind: MIGRATION_RECORD },
  });
  if (bound > 0) log(`pairwise DIDs: the peers of ${bound} earlier connection(s) keep their identity DIDs`);
  return bound;
}
