// Holding a DataSource's exclusive turn in a test: what asks for the connection meanwhile waits,
// and so joins one group commit when the turn is released.
import type { DataSource } from 'typeorm';
import { exclusive } from '../../src/channels/persistence/datasource.js';

/** Holds the connection's exclusive turn until the returned release is called. */
export async function holdConnection(ds: DataSource): Promise<() => Promise<void>> {
  let release!: () => void;
  let started!: () => void;
  const turn = new Promise<void>((r) => (started = r));
  const held = exclusive(ds, () => {
    started();
    return new Promise<void>((r) => (release = r));
  });
  await turn;
  return () => {
    release();
    return held;
  };
}
