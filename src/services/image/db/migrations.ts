import type { Kysely, Migration } from 'kysely';

const initial: Migration = {
  async up(db: Kysely<unknown>) {
    const s = db.schema;
    await s.createTable('image')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)')
      .addColumn('status', 'varchar(20)', (c) => c.notNull())
      .addColumn('visibility', 'varchar(20)', (c) => c.notNull())
      .addColumn('protected', 'integer', (c) => c.notNull())
      .addColumn('os_hidden', 'integer', (c) => c.notNull())
      .addColumn('owner', 'varchar(64)', (c) => c.notNull())
      .addColumn('disk_format', 'varchar(20)')
      .addColumn('container_format', 'varchar(20)')
      .addColumn('size', 'bigint')
      .addColumn('virtual_size', 'bigint')
      .addColumn('checksum', 'varchar(32)')
      .addColumn('os_hash_algo', 'varchar(64)')
      .addColumn('os_hash_value', 'varchar(128)')
      .addColumn('min_ram', 'integer', (c) => c.notNull())
      .addColumn('min_disk', 'integer', (c) => c.notNull())
      .addColumn('location', 'text')
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
      .execute();
    await s.createIndex('image_owner').on('image').column('owner').execute();
    await s.createIndex('image_visibility').on('image').column('visibility').execute();
    await s.createTable('image_property')
      .addColumn('image_id', 'varchar(36)', (c) => c.notNull().references('image.id').onDelete('cascade'))
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('image_property_pk', ['image_id', 'name'])
      .execute();
    await s.createTable('image_tag')
      .addColumn('image_id', 'varchar(36)', (c) => c.notNull().references('image.id').onDelete('cascade'))
      .addColumn('value', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('image_tag_pk', ['image_id', 'value'])
      .execute();
    await s.createTable('image_member')
      .addColumn('image_id', 'varchar(36)', (c) => c.notNull().references('image.id').onDelete('cascade'))
      .addColumn('member_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('status', 'varchar(20)', (c) => c.notNull())
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
      .addPrimaryKeyConstraint('image_member_pk', ['image_id', 'member_id'])
      .execute();
    await s.createIndex('image_member_member').on('image_member').column('member_id').execute();
  },
};

export const imageMigrations: Record<string, Migration> = { '0001_initial': initial };
