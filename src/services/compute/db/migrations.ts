import { PostgresAdapter, type Kysely, type Migration } from 'kysely';

// Auto-increment ids differ between the engines; everything else is portable.
const serialPk = (db: Kysely<unknown>): 'serial' | 'integer' => (db.getExecutor().adapter instanceof PostgresAdapter ? 'serial' : 'integer');

const initial: Migration = {
  async up(db: Kysely<unknown>) {
    const s = db.schema;
    const serial = serialPk(db);
    const id = (t: string) => s.createTable(t).addColumn('id', serial, (c) => (serial === 'integer' ? c.primaryKey().autoIncrement() : c.primaryKey()));

    await s.createTable('instance')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('seq', 'integer', (c) => c.notNull().unique())
      .addColumn('display_name', 'varchar(255)', (c) => c.notNull())
      .addColumn('display_description', 'text')
      .addColumn('hostname', 'varchar(255)', (c) => c.notNull())
      .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('image_ref', 'varchar(255)', (c) => c.notNull())
      .addColumn('flavor', 'text', (c) => c.notNull())
      .addColumn('old_flavor', 'text')
      .addColumn('new_flavor', 'text')
      .addColumn('vm_state', 'varchar(255)', (c) => c.notNull())
      .addColumn('task_state', 'varchar(255)')
      .addColumn('power_state', 'integer', (c) => c.notNull())
      .addColumn('host', 'varchar(255)')
      .addColumn('node', 'varchar(255)')
      .addColumn('availability_zone', 'varchar(255)')
      .addColumn('key_name', 'varchar(255)')
      .addColumn('key_data', 'text')
      .addColumn('user_data', 'text')
      .addColumn('config_drive', 'integer', (c) => c.notNull())
      .addColumn('access_ip_v4', 'varchar(64)')
      .addColumn('access_ip_v6', 'varchar(64)')
      .addColumn('metadata', 'text', (c) => c.notNull())
      .addColumn('locked', 'integer', (c) => c.notNull())
      .addColumn('locked_by', 'varchar(16)')
      .addColumn('launch_index', 'integer', (c) => c.notNull())
      .addColumn('reservation_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('progress', 'integer', (c) => c.notNull())
      .addColumn('launched_at', 'varchar(40)')
      .addColumn('terminated_at', 'varchar(40)')
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
      .addColumn('deleted', 'integer', (c) => c.notNull())
      .addColumn('deleted_at', 'varchar(40)')
      .execute();
    await s.createIndex('instance_project').on('instance').columns(['project_id', 'deleted']).execute();
    await s.createIndex('instance_host').on('instance').columns(['host', 'deleted']).execute();
    await s.createIndex('instance_updated').on('instance').column('updated_at').execute();

    await id('instance_fault')
      .addColumn('instance_uuid', 'varchar(36)', (c) => c.notNull())
      .addColumn('code', 'integer', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('details', 'text', (c) => c.notNull())
      .addColumn('host', 'varchar(255)')
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .execute();
    await s.createIndex('instance_fault_instance').on('instance_fault').column('instance_uuid').execute();

    await id('instance_action')
      .addColumn('request_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('instance_uuid', 'varchar(36)', (c) => c.notNull())
      .addColumn('action', 'varchar(255)', (c) => c.notNull())
      .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('start_time', 'varchar(40)', (c) => c.notNull())
      .addColumn('finish_time', 'varchar(40)')
      .addColumn('message', 'text')
      .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
      .execute();
    await s.createIndex('instance_action_instance').on('instance_action').columns(['instance_uuid', 'request_id']).execute();

    await id('instance_action_event')
      .addColumn('action_id', 'integer', (c) => c.notNull())
      .addColumn('event', 'varchar(255)', (c) => c.notNull())
      .addColumn('start_time', 'varchar(40)', (c) => c.notNull())
      .addColumn('finish_time', 'varchar(40)')
      .addColumn('result', 'varchar(255)')
      .addColumn('traceback', 'text')
      .addColumn('host', 'varchar(255)')
      .addColumn('details', 'text')
      .execute();
    await s.createIndex('instance_action_event_action').on('instance_action_event').column('action_id').execute();

    await s.createTable('compute_saga')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('instance_uuid', 'varchar(36)', (c) => c.notNull())
      .addColumn('kind', 'varchar(64)', (c) => c.notNull())
      .addColumn('step', 'integer', (c) => c.notNull())
      .addColumn('status', 'varchar(20)', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
      .execute();
    await s.createIndex('compute_saga_status').on('compute_saga').column('status').execute();

    await id('compute_service')
      .addColumn('host', 'varchar(255)', (c) => c.notNull())
      .addColumn('binary', 'varchar(255)', (c) => c.notNull())
      .addColumn('topic', 'varchar(255)', (c) => c.notNull())
      .addColumn('disabled', 'integer', (c) => c.notNull())
      .addColumn('disabled_reason', 'varchar(255)')
      .addColumn('forced_down', 'integer', (c) => c.notNull())
      .addColumn('last_seen_up', 'varchar(40)')
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('uuid', 'varchar(36)', (c) => c.notNull().unique())
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
      .addUniqueConstraint('compute_service_host_binary', ['host', 'binary'])
      .execute();

    await s.createTable('compute_node')
      .addColumn('uuid', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('host', 'varchar(255)', (c) => c.notNull().unique())
      .addColumn('hypervisor_hostname', 'varchar(255)', (c) => c.notNull())
      .addColumn('hypervisor_type', 'varchar(255)', (c) => c.notNull())
      .addColumn('hypervisor_version', 'integer', (c) => c.notNull())
      .addColumn('vcpus', 'integer', (c) => c.notNull())
      .addColumn('memory_mb', 'integer', (c) => c.notNull())
      .addColumn('local_gb', 'integer', (c) => c.notNull())
      .addColumn('cpu_info', 'text', (c) => c.notNull())
      .addColumn('host_ip', 'varchar(64)')
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
      .execute();

    await s.createTable('flavor')
      .addColumn('id', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
      .addColumn('memory_mb', 'integer', (c) => c.notNull())
      .addColumn('vcpus', 'integer', (c) => c.notNull())
      .addColumn('root_gb', 'integer', (c) => c.notNull())
      .addColumn('ephemeral_gb', 'integer', (c) => c.notNull())
      .addColumn('swap', 'integer', (c) => c.notNull())
      .addColumn('rxtx_factor', 'real', (c) => c.notNull())
      .addColumn('is_public', 'integer', (c) => c.notNull())
      .addColumn('disabled', 'integer', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
      .execute();
    await s.createTable('flavor_extra_spec')
      .addColumn('flavor_id', 'varchar(255)', (c) => c.notNull().references('flavor.id').onDelete('cascade'))
      .addColumn('key', 'varchar(255)', (c) => c.notNull())
      .addColumn('value', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('flavor_extra_spec_pk', ['flavor_id', 'key'])
      .execute();
    await s.createTable('flavor_access')
      .addColumn('flavor_id', 'varchar(255)', (c) => c.notNull().references('flavor.id').onDelete('cascade'))
      .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
      .addPrimaryKeyConstraint('flavor_access_pk', ['flavor_id', 'project_id'])
      .execute();

    await s.createTable('keypair')
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('fingerprint', 'varchar(255)', (c) => c.notNull())
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addColumn('type', 'varchar(16)', (c) => c.notNull())
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .addPrimaryKeyConstraint('keypair_pk', ['user_id', 'name'])
      .execute();

    await s.createTable('server_group')
      .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(255)', (c) => c.notNull())
      .addColumn('policy', 'varchar(32)', (c) => c.notNull())
      .addColumn('rules', 'text', (c) => c.notNull())
      .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .execute();
    await s.createTable('server_group_member')
      .addColumn('group_id', 'varchar(36)', (c) => c.notNull().references('server_group.id').onDelete('cascade'))
      .addColumn('instance_uuid', 'varchar(36)', (c) => c.notNull())
      .addPrimaryKeyConstraint('server_group_member_pk', ['group_id', 'instance_uuid'])
      .execute();
    await s.createIndex('server_group_member_instance').on('server_group_member').column('instance_uuid').execute();

    await s.createTable('compute_quota')
      .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('resource', 'varchar(64)', (c) => c.notNull())
      .addColumn('hard_limit', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('compute_quota_pk', ['project_id', 'resource'])
      .execute();

    await s.createTable('compute_counter')
      .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('value', 'integer', (c) => c.notNull())
      .execute();
    // Seeded here so that taking a number is always a single UPDATE … RETURNING.
    await (db as Kysely<{ compute_counter: { name: string; value: number } }>).insertInto('compute_counter').values({ name: 'instance', value: 0 }).execute();
  },
};

// Nova shows a keypair's integer id (GET /os-keypairs/{name}; Tempest requires it). The column
// is filled from the compute_counter row 'keypair_id' at insert; rows from before get theirs here.
const keypairId: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('keypair').addColumn('id', 'integer').execute();
    await db.schema.createIndex('keypair_id').on('keypair').column('id').unique().execute();
    const k = db as Kysely<{ keypair: { user_id: string; name: string; created_at: string; id: number | null }; compute_counter: { name: string; value: number } }>;
    const rows = await k.selectFrom('keypair').select(['user_id', 'name']).orderBy('created_at').execute();
    for (const [i, r] of rows.entries()) {
      await k.updateTable('keypair').set({ id: i + 1 }).where('user_id', '=', r.user_id).where('name', '=', r.name).execute();
    }
    await k.insertInto('compute_counter').values({ name: 'keypair_id', value: rows.length }).execute();
  },
};

// Host aggregates (os-aggregates): named groups of hosts with metadata; the metadata key
// availability_zone makes an aggregate an availability zone, as in Nova.
const aggregates: Migration = {
  async up(db: Kysely<unknown>) {
    const s = db.schema;
    const serial = serialPk(db);
    await s.createTable('aggregate')
      .addColumn('id', serial, (c) => (serial === 'integer' ? c.primaryKey().autoIncrement() : c.primaryKey()))
      .addColumn('uuid', 'varchar(36)', (c) => c.notNull().unique())
      .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(40)')
      .execute();
    await s.createTable('aggregate_host')
      .addColumn('aggregate_id', 'integer', (c) => c.notNull().references('aggregate.id').onDelete('cascade'))
      .addColumn('host', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('aggregate_host_pk', ['aggregate_id', 'host'])
      .execute();
    await s.createTable('aggregate_metadata')
      .addColumn('aggregate_id', 'integer', (c) => c.notNull().references('aggregate.id').onDelete('cascade'))
      .addColumn('key', 'varchar(255)', (c) => c.notNull())
      .addColumn('value', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('aggregate_metadata_pk', ['aggregate_id', 'key'])
      .execute();
  },
};


// A server's network interfaces (Nova's virtual_interfaces + the info cache's
// preserve_on_delete): which ports compute gave it, in the order the guest sees them, and which
// of them the user brought (`--port`: unbound on delete, never deleted).
const instanceVifs: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createTable('instance_vif')
      .addColumn('port_id', 'varchar(36)', (c) => c.primaryKey())
      .addColumn('instance_uuid', 'varchar(36)', (c) => c.notNull())
      .addColumn('network_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('preserve_on_delete', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('instance_vif_instance').on('instance_vif').column('instance_uuid').execute();
  },
};

// Server tags (microversion 2.26): a server's set of strings, kept with the server's row (a
// deleted server keeps its tags, as its row stays).
const serverTags: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createTable('server_tag')
      .addColumn('instance_uuid', 'varchar(36)', (c) => c.notNull())
      .addColumn('tag', 'varchar(60)', (c) => c.notNull())
      .addPrimaryKeyConstraint('server_tag_pk', ['instance_uuid', 'tag'])
      .execute();
    await db.schema.createIndex('server_tag_tag').on('server_tag').column('tag').execute();
  },
};

export const computeMigrations: Record<string, Migration> = { '0001_initial': initial, '0002_keypair_id': keypairId, '0003_server_tags': serverTags, '0004_aggregates': aggregates, '0005_instance_vifs': instanceVifs };
