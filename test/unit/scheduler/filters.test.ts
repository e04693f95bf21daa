import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NuboError } from '../../../src/core/errors.ts';
import { aggregateInstanceExtraSpecsFilter } from '../../../src/services/scheduler/filters/aggregate-instance-extra-specs.ts';
import { availabilityZoneFilter } from '../../../src/services/scheduler/filters/availability-zone.ts';
import { computeFilter } from '../../../src/services/scheduler/filters/compute.ts';
import { differentHostFilter } from '../../../src/services/scheduler/filters/different-host.ts';
import { forceHostFilter } from '../../../src/services/scheduler/filters/force-host.ts';
import { ignoreHostsFilter } from '../../../src/services/scheduler/filters/ignore-hosts.ts';
import { imagePropertiesFilter } from '../../../src/services/scheduler/filters/image-properties.ts';
import { requiredTraitsFilter } from '../../../src/services/scheduler/filters/required-traits.ts';
import { resourceFilter } from '../../../src/services/scheduler/filters/resources.ts';
import { sameHostFilter } from '../../../src/services/scheduler/filters/same-host.ts';
import { serverGroupAffinityFilter } from '../../../src/services/scheduler/filters/server-group-affinity.ts';
import { serverGroupAntiAffinityFilter } from '../../../src/services/scheduler/filters/server-group-anti-affinity.ts';
import { buildRequestContext, consumeHost } from '../../../src/services/scheduler/request-context.ts';
import { flavor, host, spec, verdict } from './fixtures.ts';

const image = (properties: Record<string, string>) => ({ id: 'img-1', properties });

describe('ComputeFilter', () => {
  it('passes an enabled host with a fresh heartbeat', () => {
    assert.equal(verdict(computeFilter, host('a')), null);
  });
  it('refuses a disabled host, with the operator reason', () => {
    assert.deepEqual(verdict(computeFilter, host('a', { enabled: false, disabledReason: 'maintenance' })), { kind: 'disabled', disabledReason: 'maintenance' });
    assert.deepEqual(verdict(computeFilter, host('a', { enabled: false })), { kind: 'disabled', disabledReason: null });
  });
  it('refuses a host whose heartbeat is stale; disabled wins when both', () => {
    assert.deepEqual(verdict(computeFilter, host('a', { up: false })), { kind: 'down' });
    assert.equal((verdict(computeFilter, host('a', { up: false, enabled: false })) as { kind: string }).kind, 'disabled');
  });
});

describe('AvailabilityZoneFilter', () => {
  it('does not run without a requested zone', () => {
    assert.equal(verdict(availabilityZoneFilter, host('a', { availabilityZone: 'az1' })), 'skipped');
    assert.equal(verdict(availabilityZoneFilter, host('a'), spec({ availabilityZone: null })), 'skipped');
  });
  it('passes a host in the zone and refuses one outside it', () => {
    assert.equal(verdict(availabilityZoneFilter, host('a', { availabilityZone: 'az2' }), spec({ availabilityZone: 'az2' })), null);
    assert.deepEqual(verdict(availabilityZoneFilter, host('a', { availabilityZone: 'az1' }), spec({ availabilityZone: 'az2' })),
      { kind: 'availability-zone', requested: 'az2', actual: 'az1' });
  });
});

describe('ResourceFilter', () => {
  const s = spec({ flavor: flavor({ vcpus: 4, memoryMb: 4096, rootGb: 40 }) });
  it('passes a host with exactly enough free', () => {
    const h = host('a', { capacity: { VCPU: 8, MEMORY_MB: 8192, DISK_GB: 100 }, used: { VCPU: 4, MEMORY_MB: 4096, DISK_GB: 60 } });
    assert.equal(verdict(resourceFilter, h, s), null);
  });
  it('names the short class and how much was free', () => {
    const h = host('a', { capacity: { VCPU: 8, MEMORY_MB: 8192, DISK_GB: 100 }, used: { VCPU: 0, MEMORY_MB: 6144, DISK_GB: 0 } });
    assert.deepEqual(verdict(resourceFilter, h, s), { kind: 'resource', resourceClass: 'MEMORY_MB', requested: 4096, free: 2048 });
    const disk = host('b', { capacity: { VCPU: 8, MEMORY_MB: 8192, DISK_GB: 30 }, used: {} });
    assert.deepEqual(verdict(resourceFilter, disk, s), { kind: 'resource', resourceClass: 'DISK_GB', requested: 40, free: 30 });
  });
  it('counts a class the host does not have as zero free', () => {
    const s2 = spec({ flavor: flavor({ extraSpecs: { 'resources:CUSTOM_GPU': '1' } }) });
    assert.deepEqual(verdict(resourceFilter, host('a'), s2), { kind: 'resource', resourceClass: 'CUSTOM_GPU', requested: 1, free: 0 });
  });
  it('sees what earlier picks of the same selection consumed', () => {
    const h = host('a', { capacity: { VCPU: 6, MEMORY_MB: 8192, DISK_GB: 100 }, used: {} });
    const ctx = buildRequestContext([h], s);
    const check = resourceFilter.prepare(ctx)!;
    assert.equal(check(h, 0), null);
    consumeHost(ctx, 0);
    assert.deepEqual(check(h, 0), { kind: 'resource', resourceClass: 'VCPU', requested: 4, free: 2 });
  });
});

describe('ImagePropertiesFilter', () => {
  it('does not run without an image or without the properties it checks', () => {
    assert.equal(verdict(imagePropertiesFilter, host('a')), 'skipped');
    assert.equal(verdict(imagePropertiesFilter, host('a'), spec({ image: image({ os_distro: 'debian' }) })), 'skipped');
  });
  it('matches architecture in canonical form, preferring hw_architecture over architecture', () => {
    assert.equal(verdict(imagePropertiesFilter, host('a'), spec({ image: image({ hw_architecture: 'x86_64' }) })), null);
    assert.equal(verdict(imagePropertiesFilter, host('a'), spec({ image: image({ architecture: 'AMD64' }) })), null);
    assert.deepEqual(verdict(imagePropertiesFilter, host('a'), spec({ image: image({ hw_architecture: 'aarch64', architecture: 'x86_64' }) })),
      { kind: 'image-property', property: 'hw_architecture', value: 'aarch64', host: 'x86_64' });
    assert.equal(verdict(imagePropertiesFilter, host('a', { cpuArch: 'aarch64' }), spec({ image: image({ architecture: 'arm64' }) })), null);
  });
  it('refuses an architecture request on a host that reports none', () => {
    assert.deepEqual(verdict(imagePropertiesFilter, host('a', { cpuArch: undefined }), spec({ image: image({ architecture: 'x86_64' }) })),
      { kind: 'image-property', property: 'architecture', value: 'x86_64', host: null });
  });
  it('matches the hypervisor type; a KVM host also runs qemu guests but not the reverse', () => {
    assert.equal(verdict(imagePropertiesFilter, host('a', { hypervisorType: 'QEMU' }), spec({ image: image({ img_hv_type: 'qemu' }) })), null);
    assert.equal(verdict(imagePropertiesFilter, host('a', { hypervisorType: 'kvm' }), spec({ image: image({ hypervisor_type: 'qemu' }) })), null);
    assert.deepEqual(verdict(imagePropertiesFilter, host('a', { hypervisorType: 'QEMU' }), spec({ image: image({ img_hv_type: 'kvm' }) })),
      { kind: 'image-property', property: 'img_hv_type', value: 'kvm', host: 'QEMU' });
  });
});

describe('ServerGroupAffinityFilter', () => {
  const group = (hosts: string[]) => spec({ serverGroup: { policy: 'affinity', members: ['m1'], hosts } });
  it('lets the first member go anywhere', () => {
    assert.equal(verdict(serverGroupAffinityFilter, host('a'), group([])), null);
  });
  it('keeps later members on the group host', () => {
    assert.equal(verdict(serverGroupAffinityFilter, host('a'), group(['a'])), null);
    assert.deepEqual(verdict(serverGroupAffinityFilter, host('b'), group(['a'])), { kind: 'affinity', groupHosts: ['a'] });
  });
  it('does not run for other policies', () => {
    assert.equal(verdict(serverGroupAffinityFilter, host('b'), spec({ serverGroup: { policy: 'soft-affinity', members: ['m1'], hosts: ['a'] } })), 'skipped');
  });
});

describe('ServerGroupAntiAffinityFilter', () => {
  const anti = (hosts: string[], max?: number) => spec({ serverGroup: { policy: 'anti-affinity', members: ['m1', 'm2'], hosts, maxServerPerHost: max } });
  it('refuses a host that runs a member, passes one that does not', () => {
    assert.equal(verdict(serverGroupAntiAffinityFilter, host('a', { instances: ['x'] }), anti(['b'])), null);
    assert.deepEqual(verdict(serverGroupAntiAffinityFilter, host('b', { instances: new Set(['m1', 'x']) }), anti(['b'])),
      { kind: 'anti-affinity', membersOnHost: 1, maxServerPerHost: 1 });
  });
  it('trusts the group record when the host list says a member runs there', () => {
    assert.equal((verdict(serverGroupAntiAffinityFilter, host('b', { instances: [] }), anti(['b'])) as { kind: string }).kind, 'anti-affinity');
  });
  it('also counts members a host\'s instance list shows when the group record misses the host', () => {
    assert.deepEqual(verdict(serverGroupAntiAffinityFilter, host('c', { instances: ['m2'] }), anti(['b'])),
      { kind: 'anti-affinity', membersOnHost: 1, maxServerPerHost: 1 });
  });
  it('honours max_server_per_host', () => {
    assert.equal(verdict(serverGroupAntiAffinityFilter, host('b', { instances: ['m1'] }), anti(['b'], 2)), null);
    assert.deepEqual(verdict(serverGroupAntiAffinityFilter, host('b', { instances: ['m1', 'm2'] }), anti(['b'], 2)),
      { kind: 'anti-affinity', membersOnHost: 2, maxServerPerHost: 2 });
  });
  it('counts members placed by the same selection', () => {
    const h = host('a');
    const ctx = buildRequestContext([h], anti([]));
    const check = serverGroupAntiAffinityFilter.prepare(ctx)!;
    assert.equal(check(h, 0), null);
    consumeHost(ctx, 0);
    assert.deepEqual(check(h, 0), { kind: 'anti-affinity', membersOnHost: 1, maxServerPerHost: 1 });
  });
  it('refuses a max_server_per_host below 1 with a 400', () => {
    assert.throws(() => verdict(serverGroupAntiAffinityFilter, host('a'), anti([], 0)), (e: unknown) => e instanceof NuboError && e.status === 400);
  });
});

describe('AggregateInstanceExtraSpecsFilter', () => {
  const withSpecs = (extraSpecs: Record<string, string>) => spec({ flavor: flavor({ extraSpecs }) });
  const inAggregates = (...metadata: Record<string, string>[]) =>
    host('a', { aggregates: metadata.map((m, i) => ({ uuid: `agg-${i}`, name: `agg${i}`, metadata: m })) });

  it('ignores extra specs of other scopes', () => {
    assert.equal(verdict(aggregateInstanceExtraSpecsFilter, inAggregates(), withSpecs({ 'hw:cpu_policy': 'dedicated', 'trait:CUSTOM_X': 'required' })), 'skipped');
  });
  it('matches scoped and unscoped keys against any aggregate, comma lists included', () => {
    const h = inAggregates({ ssd: 'true' }, { tier: 'gold, silver' });
    assert.equal(verdict(aggregateInstanceExtraSpecsFilter, h, withSpecs({ 'aggregate_instance_extra_specs:ssd': 'true' })), null);
    assert.equal(verdict(aggregateInstanceExtraSpecsFilter, h, withSpecs({ ssd: 'true', 'aggregate_instance_extra_specs:tier': 'silver' })), null);
  });
  it('refuses a host whose aggregates lack the key or hold another value', () => {
    const want = withSpecs({ 'aggregate_instance_extra_specs:ssd': 'true' });
    assert.deepEqual(verdict(aggregateInstanceExtraSpecsFilter, inAggregates({ ssd: 'false' }), want), { kind: 'aggregate-extra-spec', key: 'ssd', requirement: 'true' });
    assert.deepEqual(verdict(aggregateInstanceExtraSpecsFilter, inAggregates(), want), { kind: 'aggregate-extra-spec', key: 'ssd', requirement: 'true' });
  });
  it('uses the operator language', () => {
    const h = inAggregates({ cores: '32', tier: 'gold' });
    assert.equal(verdict(aggregateInstanceExtraSpecsFilter, h, withSpecs({ 'aggregate_instance_extra_specs:cores': '>= 16' })), null);
    assert.equal((verdict(aggregateInstanceExtraSpecsFilter, h, withSpecs({ 'aggregate_instance_extra_specs:cores': '>= 64' })) as { kind: string }).kind, 'aggregate-extra-spec');
    assert.equal(verdict(aggregateInstanceExtraSpecsFilter, h, withSpecs({ 'aggregate_instance_extra_specs:tier': '<or> silver <or> gold' })), null);
  });
});

describe('host hints', () => {
  it('same_host passes only hosts running one of the instances', () => {
    const s = spec({ hints: { sameHost: ['i1', 'i2'] } });
    assert.equal(verdict(sameHostFilter, host('a', { instances: new Set(['i2', 'z']) }), s), null);
    assert.deepEqual(verdict(sameHostFilter, host('a', { instances: ['z'] }), s), { kind: 'same-host', instances: ['i1', 'i2'] });
    assert.equal(verdict(sameHostFilter, host('a'), spec({ hints: { sameHost: [] } })), 'skipped');
  });
  it('different_host refuses hosts running one of the instances', () => {
    const s = spec({ hints: { differentHost: ['i1'] } });
    assert.equal(verdict(differentHostFilter, host('a', { instances: ['z'] }), s), null);
    assert.deepEqual(verdict(differentHostFilter, host('a', { instances: ['i1'] }), s), { kind: 'different-host', instances: ['i1'] });
  });
  it('force_host passes only the named host', () => {
    const s = spec({ hints: { forceHost: 'a' } });
    assert.equal(verdict(forceHostFilter, host('a'), s), null);
    assert.deepEqual(verdict(forceHostFilter, host('b'), s), { kind: 'not-forced-host', forceHost: 'a' });
    assert.equal(verdict(forceHostFilter, host('b'), spec({ hints: { forceHost: null } })), 'skipped');
  });
  it('ignoreHosts refuses the hosts already tried', () => {
    const s = spec({ ignoreHosts: ['a'] });
    assert.deepEqual(verdict(ignoreHostsFilter, host('a'), s), { kind: 'ignored' });
    assert.equal(verdict(ignoreHostsFilter, host('b'), s), null);
  });
});

describe('RequiredTraitsFilter', () => {
  const traits = (extraSpecs: Record<string, string>, properties?: Record<string, string>) =>
    spec({ flavor: flavor({ extraSpecs }), image: properties ? image(properties) : null });
  it('does not run without trait specs', () => {
    assert.equal(verdict(requiredTraitsFilter, host('a'), traits({ 'hw:mem_page_size': 'large' })), 'skipped');
  });
  it('requires required traits and refuses forbidden ones', () => {
    const s = traits({ 'trait:CUSTOM_GPU': 'required', 'trait:CUSTOM_SLOW': 'forbidden' });
    assert.equal(verdict(requiredTraitsFilter, host('a', { traits: ['CUSTOM_GPU', 'HW_CPU_X86_AVX2'] }), s), null);
    assert.deepEqual(verdict(requiredTraitsFilter, host('a', { traits: [] }), s), { kind: 'missing-trait', trait: 'CUSTOM_GPU' });
    assert.deepEqual(verdict(requiredTraitsFilter, host('a', { traits: ['CUSTOM_GPU', 'CUSTOM_SLOW'] }), s), { kind: 'forbidden-trait', trait: 'CUSTOM_SLOW' });
  });
  it('takes required traits from image properties too', () => {
    assert.deepEqual(verdict(requiredTraitsFilter, host('a'), traits({}, { 'trait:HW_CPU_X86_AVX2': 'required' })), { kind: 'missing-trait', trait: 'HW_CPU_X86_AVX2' });
  });
  it('refuses a value other than required/forbidden, and a trait both required and forbidden, with a 400', () => {
    const is400 = (e: unknown) => e instanceof NuboError && e.status === 400;
    assert.throws(() => verdict(requiredTraitsFilter, host('a'), traits({ 'trait:CUSTOM_GPU': 'yes' })), is400);
    assert.throws(() => verdict(requiredTraitsFilter, host('a'), traits({}, { 'trait:CUSTOM_GPU': 'forbidden' })), is400);
    assert.throws(() => verdict(requiredTraitsFilter, host('a'), traits({ 'trait:CUSTOM_GPU': 'forbidden' }, { 'trait:CUSTOM_GPU': 'required' })), is400);
  });
});
