// Credo storage migrations in order; pass them to openDataSource, which runs them after the
// channel migrations.

import { CredoStorage1767312000000 } from './1767312000000-credo-storage.js';

export const credoStorageMigrations = [CredoStorage1767312000000] as const;
