// The compute service's tables (auto-increment ids are Generated). Portable rules
// (src/db/database.ts): booleans are 0/1
// integers, timestamps ISO-8601 text, JSON is text.
import type { Generated, Selectable } from 'kysely';

/** A fault as read back (ids resolved). */
export type InstanceFault = Selectable<InstanceFaultRow>;

export type InstanceRow = {
  id: string;
  /** Source of the libvirt domain name instance-%08x (Nova's internal id). */
  seq: number;
  display_name: string;
  display_description: string | null;
  hostname: string;
  project_id: string;
  user_id: string;
  image_ref: string;
  /** The flavor as it was at boot (FlavorSpec JSON): later flavor edits do not change servers. */
  flavor: string;
  /** During a resize: the flavor before it (for revert) and after it. */
  old_flavor: string | null;
  new_flavor: string | null;
  vm_state: string;
  task_state: string | null;
  power_state: number;
  host: string | null;
  node: string | null;
  availability_zone: string | null;
  key_name: string | null;
  key_data: string | null;
  user_data: string | null;
  config_drive: number;
  access_ip_v4: string | null;
  access_ip_v6: string | null;
  /** Server metadata, JSON object of strings. */
  metadata: string;
  locked: number;
  locked_by: string | null;
  launch_index: number;
  reservation_id: string;
  progress: number;
  launched_at: string | null;
  terminated_at: string | null;
  created_at: string;
  updated_at: string;
  deleted: number;
  deleted_at: string | null;
};

export type InstanceFaultRow = { id: Generated<number>; instance_uuid: string; code: number; message: string; details: string; host: string | null; created_at: string };

export type InstanceActionRow = {
  id: Generated<number>; request_id: string; instance_uuid: string; action: string; project_id: string; user_id: string;
  start_time: string; finish_time: string | null; message: string | null; updated_at: string;
};
export type InstanceActionEventRow = {
  id: Generated<number>; action_id: number; event: string; start_time: string; finish_time: string | null;
  result: string | null; traceback: string | null; host: string | null; details: string | null;
};

/** A multi-step operation in flight (boot, delete, resize…): which step it reached, for resume/undo after a crash. */
export type SagaRow = {
  id: string; instance_uuid: string; kind: string; step: number; status: string;
  /** JSON: what the steps recorded (host, allocations, image id…). */
  state: string; created_at: string; updated_at: string;
};

export type ComputeServiceRow = {
  id: number; host: string; binary: string; topic: string; disabled: number; disabled_reason: string | null;
  forced_down: number; last_seen_up: string | null; version: number; uuid: string; created_at: string; updated_at: string;
};

/** A hypervisor (Nova's compute_nodes); its uuid is its placement resource provider's. */
export type ComputeNodeRow = {
  uuid: string; host: string; hypervisor_hostname: string; hypervisor_type: string; hypervisor_version: number;
  vcpus: number; memory_mb: number; local_gb: number; cpu_info: string; host_ip: string | null;
  created_at: string; updated_at: string;
};

export type FlavorRow = {
  id: string; name: string; memory_mb: number; vcpus: number; root_gb: number; ephemeral_gb: number; swap: number;
  rxtx_factor: number; is_public: number; disabled: number; description: string | null; created_at: string; updated_at: string;
};
export type FlavorExtraSpecRow = { flavor_id: string; key: string; value: string };
export type FlavorAccessRow = { flavor_id: string; project_id: string };

/** id: Nova's integer keypair id (migration 0002; allocated from compute_counter 'keypair_id'). */
export type KeypairRow = { user_id: string; name: string; fingerprint: string; public_key: string; type: string; created_at: string; id: number };

export type ServerGroupRow = { id: string; name: string; policy: string; rules: string; project_id: string; user_id: string; created_at: string };
/** A server's tag (2.26): unique per server. */
export type ServerTagRow = { instance_uuid: string; tag: string };
/** A port compute plugged into a server (migration 0005), `position` its NIC order. */
export type InstanceVifRow = { port_id: string; instance_uuid: string; network_id: string; position: number; preserve_on_delete: number; created_at: string };
export type ServerGroupMemberRow = { group_id: string; instance_uuid: string };

/** Per-project quota overrides (os-quota-sets); absent rows fall back to compute.quota. */
export type QuotaRow = { project_id: string; resource: string; hard_limit: number };

export type ComputeCounterRow = { name: string; value: number };

export type AggregateRow = { id: Generated<number>; uuid: string; name: string; created_at: string; updated_at: string | null };
export type AggregateHostRow = { aggregate_id: number; host: string };
export type AggregateMetadataRow = { aggregate_id: number; key: string; value: string };

export type ComputeDB = {
  instance: InstanceRow;
  instance_fault: InstanceFaultRow;
  instance_action: InstanceActionRow;
  instance_action_event: InstanceActionEventRow;
  compute_saga: SagaRow;
  compute_service: ComputeServiceRow;
  compute_node: ComputeNodeRow;
  flavor: FlavorRow;
  flavor_extra_spec: FlavorExtraSpecRow;
  flavor_access: FlavorAccessRow;
  keypair: KeypairRow;
  server_group: ServerGroupRow;
  server_group_member: ServerGroupMemberRow;
  server_tag: ServerTagRow;
  instance_vif: InstanceVifRow;
  compute_quota: QuotaRow;
  compute_counter: ComputeCounterRow;
  aggregate: AggregateRow;
  aggregate_host: AggregateHostRow;
  aggregate_metadata: AggregateMetadataRow;
};
