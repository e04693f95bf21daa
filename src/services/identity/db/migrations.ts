import type { Kysely, Migration } from 'kysely';

const initial: Migration = {
  async up(db: Kysely<unknown>) {
    const s = db.schema;
    await s.createTable('domain')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .execute();
    await s.createTable('project')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('domain_id', 'varchar(64)', (c) => c.notNull().references('domain.id'))
      .addColumn('parent_id', 'varchar(64)', (c) => c.references('project.id'))
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .addUniqueConstraint('project_domain_name', ['domain_id', 'name'])
      .execute();
    await s.createTable('user')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('domain_id', 'varchar(64)', (c) => c.notNull().references('domain.id'))
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('default_project_id', 'varchar(64)')
      .addColumn('password_hash', 'text')
      .addColumn('email', 'varchar(255)')
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('options', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .addUniqueConstraint('user_domain_name', ['domain_id', 'name'])
      .execute();
    await s.createTable('group')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('domain_id', 'varchar(64)', (c) => c.notNull().references('domain.id'))
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .addUniqueConstraint('group_domain_name', ['domain_id', 'name'])
      .execute();
    await s.createTable('user_group')
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('user.id').onDelete('cascade'))
      .addColumn('group_id', 'varchar(64)', (c) => c.notNull().references('group.id').onDelete('cascade'))
      .addPrimaryKeyConstraint('user_group_pk', ['user_id', 'group_id'])
      .execute();
    await s.createTable('role')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('domain_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('options', 'text', (c) => c.notNull().defaultTo('{}'))
      .addUniqueConstraint('role_domain_name', ['domain_id', 'name'])
      .execute();
    await s.createTable('implied_role')
      .addColumn('prior_role_id', 'varchar(64)', (c) => c.notNull().references('role.id').onDelete('cascade'))
      .addColumn('implied_role_id', 'varchar(64)', (c) => c.notNull().references('role.id').onDelete('cascade'))
      .addPrimaryKeyConstraint('implied_role_pk', ['prior_role_id', 'implied_role_id'])
      .execute();
    await s.createTable('assignment')
      .addColumn('type', 'varchar(16)', (c) => c.notNull())
      .addColumn('actor_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('target_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('role_id', 'varchar(64)', (c) => c.notNull().references('role.id').onDelete('cascade'))
      .addPrimaryKeyConstraint('assignment_pk', ['type', 'actor_id', 'target_id', 'role_id'])
      .execute();
    await s.createIndex('assignment_actor').on('assignment').column('actor_id').execute();
    await s.createIndex('assignment_target').on('assignment').column('target_id').execute();
    await s.createTable('app_cred')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('user.id').onDelete('cascade'))
      .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('secret_hash', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('expires_at', 'varchar(40)')
      .addColumn('unrestricted', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .addUniqueConstraint('app_cred_user_name', ['user_id', 'name'])
      .execute();
    await s.createTable('app_cred_role')
      .addColumn('app_cred_id', 'varchar(64)', (c) => c.notNull().references('app_cred.id').onDelete('cascade'))
      .addColumn('role_id', 'varchar(64)', (c) => c.notNull())
      .addPrimaryKeyConstraint('app_cred_role_pk', ['app_cred_id', 'role_id'])
      .execute();
    await s.createTable('region')
      .addColumn('id', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('parent_region_id', 'varchar(255)', (c) => c.references('region.id'))
      .execute();
    await s.createTable('service')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('type', 'varchar(255)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull().defaultTo(''))
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .execute();
    await s.createTable('endpoint')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('service_id', 'varchar(64)', (c) => c.notNull().references('service.id').onDelete('cascade'))
      .addColumn('interface', 'varchar(8)', (c) => c.notNull())
      .addColumn('region_id', 'varchar(255)', (c) => c.references('region.id'))
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .execute();
    await s.createTable('revocation_event')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_id', 'varchar(64)')
      .addColumn('project_id', 'varchar(64)')
      .addColumn('domain_id', 'varchar(64)')
      .addColumn('audit_id', 'varchar(64)')
      .addColumn('app_cred_id', 'varchar(64)')
      .addColumn('issued_before', 'varchar(40)', (c) => c.notNull())
      .addColumn('revoked_at', 'varchar(40)', (c) => c.notNull())
      .execute();
  },
};

export const identityMigrations: Record<string, Migration> = { '0001_initial': initial };
