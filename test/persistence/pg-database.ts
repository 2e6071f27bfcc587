// A PostgreSQL database of a suite's own on DATABASE_URL's server: the suites run at the same time,
// and two that migrate or empty the same database race each other (two first migrations creating
// the same tables at once fail on PostgreSQL's catalog).
import { DataSource } from 'typeorm';

/** The URL of database `name` beside `databaseUrl`'s, dropped and created afresh on the first call. */
export function ownDatabase(databaseUrl: string, name: string): () => Promise<string> {
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  let created: Promise<void> | undefined;
  const create = async () => {
    const admin = new DataSource({ type: 'postgres', url: databaseUrl });
    await admin.initialize();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.destroy();
    }
  };
  return async () => {
    await (created ??= create());
    return url.toString();
  };
}
