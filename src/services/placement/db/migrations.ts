import type { Kysely, Migration } from 'kysely';

const initial: Migration = {
  async up(db: Kysely<unknown>) {
    const s = db.schema;
    await s.createTable('resource_provider')
      .addColumn('uuid', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(200)', (c) => c.notNull().unique())
      .addColumn('generation', 'integer', (c) => c.notNull())
      .addColumn('parent_uuid', 'varchar(36)', (c) => c.references('resource_provider.uuid'))
      .addColumn('root_uuid', 'varchar(36)', (c) => c.notNull())
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
      .execute();
    await s.createIndex('resource_provider_parent').on('resource_provider').column('parent_uuid').execute();
    await s.createIndex('resource_provider_root').on('resource_provider').column('root_uuid').execute();

    await s.createTable('resource_class')
      .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('standard', 'integer', (c) => c.notNull())
      .addColumn('ord', 'integer')
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
      .execute();

    await s.createTable('provider_inventory')
      .addColumn('provider_uuid', 'varchar(36)', (c) => c.notNull().references('resource_provider.uuid').onDelete('cascade'))
      .addColumn('resource_class', 'varchar(255)', (c) => c.notNull().references('resource_class.name').onUpdate('cascade'))
      .addColumn('total', 'integer', (c) => c.notNull())
      .addColumn('reserved', 'integer', (c) => c.notNull())
      .addColumn('min_unit', 'integer', (c) => c.notNull())
      .addColumn('max_unit', 'integer', (c) => c.notNull())
      .addColumn('step_size', 'integer', (c) => c.notNull())
      // double precision, not real: PostgreSQL's real would turn 0.9 into 0.899999976.
      .addColumn('allocation_ratio', 'double precision', (c) => c.notNull())
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
      .addPrimaryKeyConstraint('provider_inventory_pk', ['provider_uuid', 'resource_class'])
      .execute();
    await s.createIndex('provider_inventory_class').on('provider_inventory').columns(['resource_class', 'provider_uuid']).execute();

    await s.createTable('allocation_consumer')
      .addColumn('uuid', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('project_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('generation', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
      .execute();
    await s.createIndex('allocation_consumer_project_user').on('allocation_consumer').columns(['project_id', 'user_id']).execute();

    await s.createTable('provider_allocation')
      .addColumn('provider_uuid', 'varchar(36)', (c) => c.notNull().references('resource_provider.uuid'))
      .addColumn('consumer_uuid', 'varchar(36)', (c) => c.notNull().references('allocation_consumer.uuid'))
      .addColumn('resource_class', 'varchar(255)', (c) => c.notNull().references('resource_class.name').onUpdate('cascade'))
      .addColumn('used', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .addPrimaryKeyConstraint('provider_allocation_pk', ['provider_uuid', 'consumer_uuid', 'resource_class'])
      .execute();
    await s.createIndex('provider_allocation_consumer').on('provider_allocation').column('consumer_uuid').execute();
    // Covers the grouped usage sum of allocation candidates (class → provider → used).
    await s.createIndex('provider_allocation_usage').on('provider_allocation').columns(['resource_class', 'provider_uuid', 'used']).execute();

    await s.createTable('trait')
      .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('standard', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .execute();
    await s.createTable('provider_trait')
      .addColumn('provider_uuid', 'varchar(36)', (c) => c.notNull().references('resource_provider.uuid').onDelete('cascade'))
      .addColumn('trait', 'varchar(255)', (c) => c.notNull().references('trait.name'))
      .addPrimaryKeyConstraint('provider_trait_pk', ['provider_uuid', 'trait'])
      .execute();
    await s.createIndex('provider_trait_trait').on('provider_trait').columns(['trait', 'provider_uuid']).execute();

    await s.createTable('provider_aggregate')
      .addColumn('provider_uuid', 'varchar(36)', (c) => c.notNull().references('resource_provider.uuid').onDelete('cascade'))
      .addColumn('aggregate_uuid', 'varchar(36)', (c) => c.notNull())
      .addPrimaryKeyConstraint('provider_aggregate_pk', ['provider_uuid', 'aggregate_uuid'])
      .execute();
    await s.createIndex('provider_aggregate_aggregate').on('provider_aggregate').columns(['aggregate_uuid', 'provider_uuid']).execute();
  },
};

export const placementMigrations: Record<string, Migration> = { '0001_initial': initial };
