// The placement service's tables. Portable rules (src/db/database.ts): booleans 0/1, ISO text
// timestamps. Providers are keyed by their UUID; project and user ids are kept on the consumer
// row (Placement's own project/user tables would collide with identity's and add nothing here).
export type ResourceProviderRow = {
  uuid: string;
  name: string;
  /** Bumped by every change to the provider's inventory, allocations, traits or aggregates. */
  generation: number;
  parent_uuid: string | null;
  root_uuid: string;
  created_at: string;
  updated_at: string;
};

export type ResourceClassRow = {
  name: string;
  /** 1 for the standard classes (VCPU, MEMORY_MB…), 0 for CUSTOM_* ones. */
  standard: number;
  /** Listing order of the standard classes (os-resource-classes order); null for custom ones. */
  ord: number | null;
  created_at: string;
  updated_at: string;
};

export type InventoryRow = {
  provider_uuid: string;
  resource_class: string;
  total: number;
  reserved: number;
  min_unit: number;
  max_unit: number;
  step_size: number;
  allocation_ratio: number;
  created_at: string;
  updated_at: string;
};

export type ConsumerRow = {
  uuid: string;
  project_id: string;
  user_id: string;
  generation: number;
  created_at: string;
  updated_at: string;
};

export type AllocationRow = {
  provider_uuid: string;
  consumer_uuid: string;
  resource_class: string;
  used: number;
  created_at: string;
};

export type TraitRow = { name: string; standard: number; created_at: string };
export type ProviderTraitRow = { provider_uuid: string; trait: string };
export type ProviderAggregateRow = { provider_uuid: string; aggregate_uuid: string };

export type PlacementDB = {
  resource_provider: ResourceProviderRow;
  resource_class: ResourceClassRow;
  provider_inventory: InventoryRow;
  allocation_consumer: ConsumerRow;
  provider_allocation: AllocationRow;
  trait: TraitRow;
  provider_trait: ProviderTraitRow;
  provider_aggregate: ProviderAggregateRow;
};
