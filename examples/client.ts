// Example for `perun-agent/client`: the typed REST client of a running agent, given its URL and a
// token (admin, read-only or payment) in PERUN_API_URL and PERUN_API_TOKEN, as `perun-agent
// start` prints and writes them. Reads who the agent is, its channels and its newest payments;
// an error answer is a PerunApiError with the API's category, code, message and details.
// Run: `PERUN_API_URL=… PERUN_API_TOKEN=… node dist/examples/client.js`.
import { PerunAgentClient, PerunApiError } from 'perun-agent/client';

const url = process.env.PERUN_API_URL;
const token = process.env.PERUN_API_TOKEN;
if (url === undefined || token === undefined) {
  console.error('give PERUN_API_URL and PERUN_API_TOKEN');
  process.exit(2);
}

const client = new PerunAgentClient({ url, token });
try {
  const info = await client.getInfo();
  console.log(`agent ${info.label} (${info.address})`);
  for (const c of await client.listChannels({ limit: 10 })) {
    console.log(
      `channel ${c.id} with ${c.peerLabel ?? c.peerDid}: ours ${c.ourBalance}, theirs ${c.theirBalance}`,
    );
  }
  for (const p of await client.listPayments({ limit: 5, reversed: true })) {
    console.log(`payment ${p.id}: ${p.direction} ${p.amount} on ${p.channelId}`);
  }
  await client.getChannel('0xunknown');
} catch (err) {
  if (!(err instanceof PerunApiError)) throw err;
  console.log(`refused: ${err.category} ${err.code}: ${err.message}`);
} finally {
  client.close();
}
