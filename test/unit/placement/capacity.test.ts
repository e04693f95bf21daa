import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capacityOf, fits, INVENTORY_DEFAULTS, unitViolation } from '../../../src/services/placement/app/capacity.ts';
import { AllocationsPut128, InventoriesPut, validate } from '../../../src/services/placement/api/schemas.ts';

describe('placement capacity rule', () => {
  const inv = { ...INVENTORY_DEFAULTS, total: 10, reserved: 2, allocation_ratio: 1.5, min_unit: 2, max_unit: 8, step_size: 2 };

  it('allows usage + requested up to (total − reserved) × allocation_ratio', () => {
    assert.equal(capacityOf(inv), 12);
    assert.equal(fits(inv, 10, 2), true);
    assert.equal(fits(inv, 10, 4), false);
    assert.equal(fits({ ...inv, allocation_ratio: 0.9 }, 7, 0.2), true);
    assert.equal(capacityOf({ total: 4, reserved: 4, allocation_ratio: 16 }), 0);
  });

  it('keeps each amount within min_unit..max_unit and on step_size', () => {
    assert.equal(unitViolation(inv, 4), undefined);
    assert.match(unitViolation(inv, 1) as string, /min_unit 2/);
    assert.match(unitViolation(inv, 10) as string, /max_unit 8/);
    assert.match(unitViolation(inv, 5) as string, /step_size 2/);
  });
});

describe('placement body schemas', () => {
  it('validates versioned bodies and names the first problem', () => {
    const rp = '11111111-1111-4111-8111-111111111111';
    const ok = { allocations: { [rp]: { resources: { VCPU: 1 } } }, project_id: 'p', user_id: 'u', consumer_generation: null };
    assert.deepEqual(validate(AllocationsPut128, ok), ok);
    assert.throws(() => validate(AllocationsPut128, { ...ok, consumer_generation: undefined }), /consumer_generation/);
    assert.throws(() => validate(AllocationsPut128, { ...ok, extra: 1 }), /'extra' unexpected/);
    assert.throws(() => validate(AllocationsPut128, undefined), /needs a JSON body/);
    assert.throws(() => validate(InventoriesPut, { resource_provider_generation: 0, inventories: { VCPU: { total: 0 } } }), /'inventories.VCPU.total' must be >= 1/);
  });
});
