import type { Kysely } from 'kysely';
import type { Bus } from '../../../bus/bus.ts';
import type { Config } from '../../../core/config.ts';
import type { GroupCommit } from '../../../db/group-commit.ts';
import type { Logger } from '../../../core/logger.ts';
import type { PolicyEnforcer } from '../../../core/policy.ts';
import type { ImageClient } from '../../../http/image-client.ts';
import type { FlavorSpec, HostResources } from '../../../agents/compute/virt/driver.ts';
import type { ComputeDB, ComputeServiceRow } from '../db/schema.ts';
import type { NetworkContext } from '../../network/app/context.ts';
import type { VifEvents } from './vif-events.ts';

/** What scheduling needs to know about one instance to place. */
export type PlaceRequest = {
  instanceUuid: string;
  projectId: string;
  userId: string;
  flavor: FlavorSpec;
  image: { id: string; properties: Record<string, string> } | null;
  availabilityZone: string | null;
  groupId: string | null;
  hints: { sameHost?: string[]; differentHost?: string[]; forceHost?: string | null };
};

/** Scheduler + placement, as the sagas see them. */
export interface Placer {
  /** Picks a host and claims the flavor's resources there atomically; throws NoValidHost (with the why) when none fits. */
  place(req: PlaceRequest): Promise<{ host: string; node: string }>;
  /** Replaces the instance's claim on its node with `flavor`'s resources (same-host resize and its revert). */
  reclaim(instanceUuid: string, node: string, projectId: string, userId: string, flavor: FlavorSpec): Promise<void>;
  /** Drops every claim of the instance. Nothing to drop is fine. */
  release(instanceUuid: string): Promise<void>;
  /** A host's compute service record as just written (heartbeat, enable/disable; null: deleted), for the scheduler's view of it. */
  hostChanged(host: string, service: ComputeServiceRow | null): void;
  /** Host aggregates (zones, metadata) changed: the scheduler reads the hosts again. */
  aggregatesChanged(): Promise<void>;
  /** Makes the host's resource provider and inventory match what its agent reports. */
  syncHost(nodeUuid: string, host: string, resources: HostResources): Promise<void>;
}

export type ComputeContext = {
  db: Kysely<ComputeDB>;
  /**
   * The hot paths' writes (saga progress, a boot's instance updates, creates, heartbeats):
   * committed together with whatever else is being written (src/db/group-commit.ts). A write
   * uses only the database it is given; inside one, `inWrite` gives the context to pass on.
   */
  write: GroupCommit<ComputeDB>;
  config: Config;
  log: Logger;
  policy: PolicyEnforcer;
  /** To the compute agents (topic compute.<host>) and from them (topic conductor). */
  bus: Bus;
  images: ImageClient;
  placer: Placer;
  /** The network service's app context (in-process, as placement's): ports for servers (network.ts). null: compute without networking. */
  network: NetworkContext | null;
  /** network-vif-plugged events from the network service, for the sagas that wait for them. */
  vifEvents: VifEvents;
  /** Work that outlives its request (sagas, actions): awaited on close. */
  background: Set<Promise<unknown>>;
};

/** The context inside a write: its queries go to that write's connection, and a write it starts is part of it. */
export function inWrite(ctx: ComputeContext, db: Kysely<ComputeDB>): ComputeContext {
  return { ...ctx, db, write: (work) => work(db) };
}
