// Rows the admin-API tests need before the compute agent and the servers API exist: instances
// are written straight into the compute database, services and hypervisors through the same
// upserts the heartbeat handler uses.
import { randomUUID } from 'node:crypto';
import type { FlavorSpec } from '../../../src/agents/compute/virt/driver.ts';
import type { TestServer } from '../../support/server.ts';

let seq = 1000;

export type InstanceInput = {
  projectId: string;
  userId?: string;
  name?: string;
  host?: string | null;
  flavor?: Partial<FlavorSpec>;
  vmState?: string;
  taskState?: string | null;
  launchedAt?: string | null;
  terminatedAt?: string | null;
  deleted?: boolean;
};

export function flavor(f: Partial<FlavorSpec> = {}): FlavorSpec {
  return { id: '1', name: 'm1.tiny', vcpus: 1, memoryMb: 128, rootGb: 1, ephemeralGb: 0, swapMb: 0, extraSpecs: {}, ...f };
}

/** Inserts an instance row and returns its uuid and sequence number. */
export async function insertInstance(s: TestServer, input: InstanceInput): Promise<{ id: string; seq: number }> {
  const id = randomUUID();
  const now = new Date().toISOString();
  seq += 1;
  await s.cloud.compute.db.insertInto('instance').values({
    id, seq, display_name: input.name ?? `vm-${seq}`, display_description: null, hostname: `vm-${seq}`,
    project_id: input.projectId, user_id: input.userId ?? 'someone', image_ref: randomUUID(),
    flavor: JSON.stringify(flavor(input.flavor)), old_flavor: null, new_flavor: null,
    vm_state: input.vmState ?? 'active', task_state: input.taskState ?? null, power_state: 1,
    host: input.host === undefined ? null : input.host, node: input.host ?? null, availability_zone: 'nova',
    key_name: null, key_data: null, user_data: null, config_drive: 0, access_ip_v4: null, access_ip_v6: null,
    metadata: '{}', locked: 0, locked_by: null, launch_index: 0, reservation_id: `r-${seq}`, progress: 0,
    launched_at: input.launchedAt === undefined ? now : input.launchedAt, terminated_at: input.terminatedAt ?? null,
    created_at: now, updated_at: now, deleted: input.deleted ? 1 : 0, deleted_at: input.deleted ? now : null,
  }).execute();
  return { id, seq };
}

export async function insertKeypair(s: TestServer, userId: string, name: string): Promise<void> {
  await s.cloud.compute.db.insertInto('keypair').values({
    user_id: userId, name, fingerprint: 'aa:bb', public_key: 'ssh-ed25519 AAAA test', type: 'ssh', created_at: new Date().toISOString(),
  }).execute();
}

/** Empties the tables these tests write, so each test starts from a known state. */
export async function clearComputeRows(s: TestServer): Promise<void> {
  const db = s.cloud.compute.db;
  await db.deleteFrom('server_group_member').execute();
  await db.deleteFrom('server_group').execute();
  await db.deleteFrom('instance').execute();
  await db.deleteFrom('keypair').execute();
  await db.deleteFrom('compute_node').execute();
  await db.deleteFrom('compute_service').execute();
  await db.deleteFrom('compute_quota').execute();
}

/** Object keys, sorted: the strict-schema checks compare these to Nova's exact key lists. */
export const keys = (o: unknown): string[] => Object.keys(o as object).sort();
