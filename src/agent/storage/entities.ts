// Tables of the Credo StorageService (typeorm-storage-service.ts), in the agent's one DataSource
// beside the channel tables. migrations/ builds exactly this schema (a test compares the two).
//
// credo_record: one row per Credo record. Key (context_correlation_id, type, id): Credo ids are
// unique per record type (Askar's category + name), and every agent context (tenant) has its own
// namespace, e.g. each context holds its own StorageVersionRecord under the same fixed id. `value`
// is the record as Credo's JsonTransformer serializes it; `tags` the JSON of record.getTags() as
// it was saved, so a loaded record gets back exactly the tags it was stored with (as with Askar).
//
// credo_record_tag: the query index, one row per (record, tag name, encoded value); an array tag
// has one row per element. Tag queries are answered from this table (index lookups), never by
// reading records. The record's context and type are repeated here so one index,
// (context, type, name, value, record_id), answers a tag condition for one record type without
// touching other types' tags. `value` is an encoded lookup key (query.ts, encodeTagValue): a kind
// prefix keeps string, boolean and array-element tags apart, and long values are hashed so no
// index entry grows past PostgreSQL's B-tree row limit (did:peer long forms can be kilobytes).

import 'reflect-metadata';
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';
import type { ValueTransformer } from 'typeorm';

/** Milliseconds since the epoch; PostgreSQL returns bigint as a string, SQLite as a number. */
const millis: ValueTransformer = {
  to: (v: number | null | undefined) => v,
  from: (v: string | number | null) => (v === null ? null : Number(v)),
};

export const RECORD_TABLE = 'credo_record';
export const TAG_TABLE = 'credo_record_tag';

@Entity({ name: RECORD_TABLE })
export class CredoRecordEntity {
  @PrimaryColumn({ type: 'varchar', name: 'context_correlation_id' })
  contextCorrelationId!: string;

  @PrimaryColumn({ type: 'varchar', name: 'type' })
  type!: string;

  @PrimaryColumn({ type: 'varchar', name: 'id' })
  id!: string;

  /** JsonTransformer.serialize(record). */
  @Column({ type: 'text', name: 'value' })
  value!: string;

  /** JSON of record.getTags() at the last save/update (undefined values dropped). */
  @Column({ type: 'text', name: 'tags' })
  tags!: string;

  @Column({ type: 'bigint', name: 'created_at', transformer: millis })
  createdAt!: number;

  @Column({ type: 'bigint', name: 'updated_at', nullable: true, transformer: millis })
  updatedAt!: number | null;
}

@Entity({ name: TAG_TABLE })
@Index('IDX_credo_record_tag_lookup', ['contextCorrelationId', 'type', 'name', 'value', 'recordId'])
export class CredoRecordTagEntity {
  @PrimaryColumn({ type: 'varchar', name: 'context_correlation_id' })
  contextCorrelationId!: string;

  @PrimaryColumn({ type: 'varchar', name: 'type' })
  type!: string;

  @PrimaryColumn({ type: 'varchar', name: 'record_id' })
  recordId!: string;

  @PrimaryColumn({ type: 'varchar', name: 'name' })
  name!: string;

  /** Encoded lookup key, see query.ts. */
  @PrimaryColumn({ type: 'varchar', name: 'value' })
  value!: string;

  @ManyToOne(() => CredoRecordEntity, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn([
    {
      name: 'context_correlation_id',
      referencedColumnName: 'contextCorrelationId',
      foreignKeyConstraintName: 'FK_credo_record_tag_record',
    },
    { name: 'type', referencedColumnName: 'type' },
    { name: 'record_id', referencedColumnName: 'id' },
  ])
  record?: Relation<CredoRecordEntity>;
}

/** Pass to openDataSource({ url, entities: [...credoStorageEntities], migrations: [...credoStorageMigrations] }). */
export const credoStorageEntities = [CredoRecordEntity, CredoRecordTagEntity] as const;
