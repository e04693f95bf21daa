// The capacity rule, in one place for claims, inventory changes and (mirrored in SQL) for
// allocation candidates: for a class on a provider,
//   usage + requested ≤ (total − reserved) × allocation_ratio
// and each requested amount is within min_unit..max_unit and a multiple of step_size.
export type InventoryLimits = {
  total: number;
  reserved: number;
  min_unit: number;
  max_unit: number;
  step_size: number;
  allocation_ratio: number;
};

export const MAX_INT = 2147483647;

export const INVENTORY_DEFAULTS = { reserved: 0, min_unit: 1, max_unit: MAX_INT, step_size: 1, allocation_ratio: 1.0 };

/** What may be allocated in all (a float, as Placement compares it; views show it floored). */
export function capacityOf(inv: Pick<InventoryLimits, 'total' | 'reserved' | 'allocation_ratio'>): number {
  return (inv.total - inv.reserved) * inv.allocation_ratio;
}

/** Why one allocation of `amount` breaks min_unit/max_unit/step_size, or undefined when it does not. */
export function unitViolation(inv: InventoryLimits, amount: number): string | undefined {
  if (amount < inv.min_unit) return `${amount} is below min_unit ${inv.min_unit}`;
  if (amount > inv.max_unit) return `${amount} is above max_unit ${inv.max_unit}`;
  if (amount % inv.step_size !== 0) return `${amount} is not a multiple of step_size ${inv.step_size}`;
  return undefined;
}

/** True when `requested` more fits on top of `used`. */
export function fits(inv: InventoryLimits, used: number, requested: number): boolean {
  return used + requested <= capacityOf(inv);
}
