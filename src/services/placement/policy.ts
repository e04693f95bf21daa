// The placement service's default policy (oslo.policy syntax). Placement is an admin API:
// operators and the cloud's own services (Nova's scheduler and compute, Neutron, Cyborg) use
// it, never project members. Nubo's service user `nubo` holds both admin and service roles.
const names = [
  'resource_providers:list', 'resource_providers:create', 'resource_providers:show', 'resource_providers:update', 'resource_providers:delete',
  'resource_providers:inventories:list', 'resource_providers:inventories:create', 'resource_providers:inventories:show',
  'resource_providers:inventories:update', 'resource_providers:inventories:delete',
  'resource_providers:aggregates:list', 'resource_providers:aggregates:update',
  'resource_providers:usages', 'usages',
  'resource_providers:traits:list', 'resource_providers:traits:update', 'resource_providers:traits:delete',
  'resource_providers:allocations:list',
  'resource_classes:list', 'resource_classes:create', 'resource_classes:show', 'resource_classes:update', 'resource_classes:delete',
  'traits:list', 'traits:show', 'traits:update', 'traits:delete',
  'allocations:list', 'allocations:update', 'allocations:delete', 'allocations:manage',
  'allocation_candidates:list',
];

export const placementPolicy: Record<string, string> = {
  admin_api: 'role:admin',
  service_api: 'role:service',
  admin_or_service_api: 'rule:admin_api or rule:service_api',
  ...Object.fromEntries(names.map((n) => [`placement:${n}`, 'rule:admin_or_service_api'])),
};
