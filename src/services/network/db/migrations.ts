import { sql, type CreateTableBuilder, type Kysely, type Migration } from 'kysely';

type Table = CreateTableBuilder<string, string>;

/** A resource table's first columns (id, owner, name unless it has none, description) and `more`, then Neutron's revision and timestamps. */
function resourceTable(db: Kysely<unknown>, table: string, named: boolean, more: (t: Table) => Table): Table {
  let t: Table = db.schema.createTable(table)
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(64)', (c) => c.notNull());
  if (named) t = t.addColumn('name', 'varchar(255)', (c) => c.notNull());
  return more(t.addColumn('description', 'varchar(255)', (c) => c.notNull()))
    .addColumn('revision_number', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull());
}

const initial: Migration = {
  async up(db: Kysely<unknown>) {
    const s = db.schema;

    await resourceTable(db, 'network', true, (t) => t
      .addColumn('admin_state_up', 'integer', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('shared', 'integer', (c) => c.notNull())
      .addColumn('external', 'integer', (c) => c.notNull())
      .addColumn('mtu', 'integer', (c) => c.notNull())
      .addColumn('port_security_enabled', 'integer', (c) => c.notNull())
      .addColumn('network_type', 'varchar(16)', (c) => c.notNull())
      .addColumn('physical_network', 'varchar(64)')
      .addColumn('segmentation_id', 'integer')
      .addColumn('availability_zone_hints', 'text', (c) => c.notNull()))
      .execute();
    await s.createIndex('network_project').on('network').column('project_id').execute();
    // One network per VNI and one flat network per physical network, whatever races.
    await s.createIndex('network_vxlan_vni').on('network').column('segmentation_id').unique().where(sql.ref('network_type'), '=', sql.lit('vxlan')).execute();
    await s.createIndex('network_flat_physnet').on('network').column('physical_network').unique().where(sql.ref('network_type'), '=', sql.lit('flat')).execute();

    await resourceTable(db, 'subnet', true, (t) => t
      .addColumn('network_id', 'varchar(36)', (c) => c.notNull().references('network.id'))
      .addColumn('ip_version', 'integer', (c) => c.notNull())
      .addColumn('cidr', 'varchar(64)', (c) => c.notNull())
      .addColumn('gateway_ip', 'varchar(64)')
      .addColumn('enable_dhcp', 'integer', (c) => c.notNull())
      .addColumn('dns_nameservers', 'text', (c) => c.notNull())
      .addColumn('host_routes', 'text', (c) => c.notNull())
      .addColumn('allocation_pools', 'text', (c) => c.notNull()))
      .execute();
    await s.createIndex('subnet_network').on('subnet').column('network_id').execute();

    await resourceTable(db, 'security_group', true, (t) => t
      .addColumn('stateful', 'integer', (c) => c.notNull()))
      .execute();
    await s.createIndex('security_group_project').on('security_group').column('project_id').execute();

    await s.createTable('default_security_group')
      .addColumn('project_id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('security_group_id', 'varchar(36)', (c) => c.notNull().references('security_group.id').onDelete('cascade'))
      .execute();

    await resourceTable(db, 'security_group_rule', false, (t) => t
      .addColumn('security_group_id', 'varchar(36)', (c) => c.notNull().references('security_group.id').onDelete('cascade'))
      .addColumn('direction', 'varchar(16)', (c) => c.notNull())
      .addColumn('ethertype', 'varchar(8)', (c) => c.notNull())
      .addColumn('protocol', 'varchar(40)')
      .addColumn('port_range_min', 'integer')
      .addColumn('port_range_max', 'integer')
      .addColumn('remote_ip_prefix', 'varchar(64)')
      .addColumn('remote_group_id', 'varchar(36)', (c) => c.references('security_group.id').onDelete('cascade'))
      .addColumn('fingerprint', 'varchar(255)', (c) => c.notNull()))
      .addUniqueConstraint('security_group_rule_unique', ['security_group_id', 'fingerprint'])
      .execute();
    await s.createIndex('security_group_rule_remote').on('security_group_rule').column('remote_group_id').execute();

    await resourceTable(db, 'port', true, (t) => t
      .addColumn('network_id', 'varchar(36)', (c) => c.notNull().references('network.id'))
      .addColumn('admin_state_up', 'integer', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('mac_address', 'varchar(32)', (c) => c.notNull())
      .addColumn('device_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('device_owner', 'varchar(255)', (c) => c.notNull())
      .addColumn('port_security_enabled', 'integer', (c) => c.notNull())
      .addColumn('binding_host_id', 'varchar(255)', (c) => c.notNull())
      .addColumn('binding_vnic_type', 'varchar(64)', (c) => c.notNull())
      .addColumn('binding_profile', 'text', (c) => c.notNull())
      .addColumn('binding_vif_type', 'varchar(64)', (c) => c.notNull())
      .addColumn('binding_vif_details', 'text', (c) => c.notNull())
      .addColumn('allowed_address_pairs', 'text', (c) => c.notNull()))
      .addUniqueConstraint('port_network_mac', ['network_id', 'mac_address'])
      .execute();
    await s.createIndex('port_project').on('port').column('project_id').execute();
    await s.createIndex('port_device').on('port').column('device_id').execute();

    await s.createTable('ip_allocation')
      .addColumn('subnet_id', 'varchar(36)', (c) => c.notNull().references('subnet.id'))
      .addColumn('ip_address', 'varchar(64)', (c) => c.notNull())
      .addColumn('ip_int', 'bigint', (c) => c.notNull())
      .addColumn('port_id', 'varchar(36)', (c) => c.notNull().references('port.id').onDelete('cascade'))
      .addColumn('network_id', 'varchar(36)', (c) => c.notNull())
      .addPrimaryKeyConstraint('ip_allocation_pk', ['subnet_id', 'ip_address'])
      .addUniqueConstraint('ip_allocation_int', ['subnet_id', 'ip_int'])
      .execute();
    await s.createIndex('ip_allocation_port').on('ip_allocation').column('port_id').execute();

    await s.createTable('port_security_group')
      .addColumn('port_id', 'varchar(36)', (c) => c.notNull().references('port.id').onDelete('cascade'))
      .addColumn('security_group_id', 'varchar(36)', (c) => c.notNull().references('security_group.id'))
      .addPrimaryKeyConstraint('port_security_group_pk', ['port_id', 'security_group_id'])
      .execute();
    await s.createIndex('port_security_group_group').on('port_security_group').column('security_group_id').execute();

    await resourceTable(db, 'router', true, (t) => t
      .addColumn('admin_state_up', 'integer', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('gw_port_id', 'varchar(36)', (c) => c.references('port.id'))
      .addColumn('enable_snat', 'integer', (c) => c.notNull())
      .addColumn('routes', 'text', (c) => c.notNull())
      .addColumn('availability_zone_hints', 'text', (c) => c.notNull()))
      .execute();
    await s.createIndex('router_project').on('router').column('project_id').execute();

    await resourceTable(db, 'floating_ip', false, (t) => t
      .addColumn('floating_network_id', 'varchar(36)', (c) => c.notNull().references('network.id'))
      .addColumn('floating_ip_address', 'varchar(64)', (c) => c.notNull())
      .addColumn('floating_port_id', 'varchar(36)', (c) => c.notNull().unique().references('port.id'))
      .addColumn('fixed_port_id', 'varchar(36)', (c) => c.references('port.id'))
      .addColumn('fixed_ip_address', 'varchar(64)')
      .addColumn('router_id', 'varchar(36)', (c) => c.references('router.id'))
      .addColumn('status', 'varchar(16)', (c) => c.notNull()))
      // One floating IP per fixed address (NULLs, the unassociated ones, never collide).
      .addUniqueConstraint('floating_ip_fixed', ['fixed_port_id', 'fixed_ip_address'])
      .execute();
    await s.createIndex('floating_ip_project').on('floating_ip').column('project_id').execute();
    await s.createIndex('floating_ip_router').on('floating_ip').column('router_id').execute();

    await s.createTable('network_tag')
      .addColumn('resource_id', 'varchar(36)', (c) => c.notNull())
      .addColumn('tag', 'varchar(255)', (c) => c.notNull())
      .addPrimaryKeyConstraint('network_tag_pk', ['resource_id', 'tag'])
      .execute();
    await s.createIndex('network_tag_tag').on('network_tag').column('tag').execute();

    await s.createTable('network_quota')
      .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('resource', 'varchar(64)', (c) => c.notNull())
      .addColumn('hard_limit', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('network_quota_pk', ['project_id', 'resource'])
      .execute();
  },
};

/** The network agents ask for their host's ports on every sync (app/host-state.ts). */
const portBindingHost: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createIndex('port_binding_host').on('port').column('binding_host_id').execute();
  },
};

/** What the service did once per database (app/bootstrap.ts: the starting networks), so it is never redone. */
const networkMarker: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createTable('network_marker')
      .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
      .execute();
  },
};

export const networkMigrations: Record<string, Migration> = {
  '0001_initial': initial, '0002_port_binding_host': portBindingHost, '0003_network_marker': networkMarker,
};
