// Funding a channel whose assets live on several chains: the request goes to the Funder of every
// chain the channel has assets on (each deposits and waits for that chain's assets only), all at
// once; the channel counts as funded only when every chain's funding completed. When any chain
// falls short, the failure is a FundingTimeoutError naming every chain's missing deposits, so the
// client takes its deposits back on every chain (a dispute of the initial state registers,
// concludes and withdraws on each; a chain where nothing was deposited pays out nothing).
import { ChainError, FundingTimeoutError } from '../errors.js';
import type { Funder, FundingRequest } from '../interfaces.js';
import type { Ledgers } from './ledgers.js';

export class MultiLedgerFunder implements Funder {
  readonly #ledgers: Ledgers;

  constructor(ledgers: Ledgers) {
    this.#ledgers = ledgers;
  }

  async fund(req: FundingRequest, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    // Every asset's chain must be known before anything is deposited anywhere.
    const ledgers = this.#ledgers.of(req.state);
    const results = await Promise.allSettled(ledgers.map((l) => l.funder.fund(req, options)));
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ chainID: ledgers[i]!.chainID, err: r.reason as unknown }] : [],
    );
    if (failed.length === 0) return;
    const funded = results.length - failed.length;
    const timedOut = failed.some((f) => f.err instanceof FundingTimeoutError);
    if (!timedOut && funded === 0 && failed.length === 1) throw failed[0]!.err;
    throw new FundingTimeoutError(
      'the channel was not funded on every chain',
      {
        channelID: req.state.channelID,
        missing: failed.flatMap((f) =>
          missingOf(f.err).map((m) => ({ ...m, chainID: f.chainID.toString() })),
        ),
        chains: failed.map((f) => ({
          chainID: f.chainID.toString(),
          code: f.err instanceof ChainError || f.err instanceof FundingTimeoutError ? f.err.code : undefined,
          error: f.err instanceof Error ? f.err.message : String(f.err),
        })),
      },
      { cause: failed[0]!.err },
    );
  }
}

function missingOf(err: unknown): Record<string, unknown>[] {
  if (!(err instanceof FundingTimeoutError)) return [];
  const missing = err.details.missing;
  return Array.isArray(missing) ? (missing as Record<string, unknown>[]) : [];
}
