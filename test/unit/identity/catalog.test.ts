import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CatalogEntry } from '../../../src/services/identity/app/cache.ts';
import { renderCatalog } from '../../../src/services/identity/app/catalog.ts';

const ep = (iface: string, url: string) => ({ id: `${iface}-${url}`, interface: iface, region: 'RegionOne', region_id: 'RegionOne', url });

const templates = (): CatalogEntry[] => [
  { id: 's1', type: 'identity', name: 'keystone', endpoints: [ep('public', 'http://h/identity'), ep('admin', 'http://h/identity')] },
  { id: 's2', type: 'volumev3', name: 'cinderv3', endpoints: [ep('public', 'http://h/volume/v3/$(project_id)s'), ep('internal', 'http://h/volume/v3/$(tenant_id)s')] },
  { id: 's3', type: 'object-store', name: 'swift', endpoints: [ep('public', 'http://h/object-store/v1/AUTH_$(project_id)s')] },
];

test('substitutes the project id in every project placeholder', () => {
  const out = renderCatalog(templates(), 'abc123');
  assert.deepEqual(out[1]?.endpoints.map((e) => e.url), ['http://h/volume/v3/abc123', 'http://h/volume/v3/abc123']);
  assert.equal(out[2]?.endpoints[0]?.url, 'http://h/object-store/v1/AUTH_abc123');
  assert.deepEqual(out[0]?.endpoints.map((e) => e.url), ['http://h/identity', 'http://h/identity']);
});

test('keeps everything else about services and endpoints', () => {
  const out = renderCatalog(templates(), 'p');
  assert.deepEqual(out.map((s) => [s.id, s.type, s.name]), [['s1', 'identity', 'keystone'], ['s2', 'volumev3', 'cinderv3'], ['s3', 'object-store', 'swift']]);
  assert.deepEqual(out[1]?.endpoints[0], { id: 'public-http://h/volume/v3/$(project_id)s', interface: 'public', region: 'RegionOne', region_id: 'RegionOne', url: 'http://h/volume/v3/p' });
});

test('without a project, drops endpoints that need one but keeps their service', () => {
  const out = renderCatalog(templates(), null);
  assert.equal(out.length, 3);
  assert.equal(out[0]?.endpoints.length, 2);
  assert.deepEqual(out[1]?.endpoints, []);
  assert.deepEqual(out[2]?.endpoints, []);
});

test('drops endpoints naming an unknown placeholder, and fills user_id when given', () => {
  const entries: CatalogEntry[] = [{
    id: 's', type: 't', name: 'n',
    endpoints: [ep('public', 'http://h/$(nope)s'), ep('internal', 'http://h/$(constructor)s'), ep('admin', 'http://h/u/$(user_id)s')],
  }];
  assert.deepEqual(renderCatalog(entries, 'p')[0]?.endpoints, []);
  assert.deepEqual(renderCatalog(entries, 'p', 'u1')[0]?.endpoints.map((e) => e.url), ['http://h/u/u1']);
});

test('is pure: the cached templates are left untouched', () => {
  const input = templates();
  const before = structuredClone(input);
  const out = renderCatalog(input, 'p');
  assert.deepEqual(input, before);
  assert.notEqual(out[1], input[1]);
  assert.notEqual(out[1]?.endpoints[0], input[1]?.endpoints[0]);
});
