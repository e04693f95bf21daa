// The pure parts of lists (filters, tags, sorting, paging) and of security group rules
// (validation and what makes two rules the same).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NeutronError } from '../../../src/services/network/app/errors.ts';
import { applyListQuery, NO_QUERY, type ListQuery } from '../../../src/services/network/app/list.ts';
import { checkRule, fingerprint } from '../../../src/services/network/app/security-group-rules.ts';

const items = [
  { id: 'a', name: 'x', up: true, n: 2, tags: ['red'], groups: ['g1'] },
  { id: 'b', name: 'y', up: false, n: 1, tags: ['red', 'blue'], groups: [] },
  { id: 'c', name: 'x', up: true, n: 3, tags: [], groups: ['g2', 'g1'] },
];
const q = (over: Partial<ListQuery>): ListQuery => ({ ...NO_QUERY, ...over });
const ids = (r: { page: { id: string }[] }) => r.page.map((i) => i.id);

describe('applyListQuery', () => {
  it('filters by attributes (values are alternatives; booleans as Neutron spells them; lists by membership)', () => {
    assert.deepEqual(ids(applyListQuery(items, q({ filters: new Map([['name', ['x']]]) }))), ['a', 'c']);
    assert.deepEqual(ids(applyListQuery(items, q({ filters: new Map([['name', ['x', 'y']], ['up', ['False']]]) }))), ['b']);
    assert.deepEqual(ids(applyListQuery(items, q({ filters: new Map([['n', ['3']]]) }))), ['c']);
    assert.deepEqual(ids(applyListQuery(items, q({ filters: new Map([['groups', ['g1']]]) }))), ['a', 'c']);
    assert.deepEqual(ids(applyListQuery(items, q({ filters: new Map([['colour', ['z']]]) }))), ['a', 'b', 'c'], 'unknown filters are ignored');
  });

  it('applies tag filters', () => {
    const tags = (t: Partial<ListQuery['tags']>) => ids(applyListQuery(items, q({ tags: { all: [], any: [], notAll: [], notAny: [], ...t } })));
    assert.deepEqual(tags({ all: ['red', 'blue'] }), ['b']);
    assert.deepEqual(tags({ any: ['blue', 'red'] }), ['a', 'b']);
    assert.deepEqual(tags({ notAll: ['red', 'blue'] }), ['a', 'c']);
    assert.deepEqual(tags({ notAny: ['red'] }), ['c']);
  });

  it('sorts with id as the last key and pages after the marker', () => {
    assert.deepEqual(ids(applyListQuery(items, q({ sorts: [{ key: 'name', dir: 'desc' }] }))), ['b', 'c', 'a']);
    assert.deepEqual(ids(applyListQuery(items, q({ sorts: [{ key: 'n', dir: 'asc' }] }))), ['b', 'a', 'c']);
    const first = applyListQuery(items, q({ limit: 2 }));
    assert.deepEqual([ids(first), first.more], [['a', 'b'], true]);
    const last = applyListQuery(items, q({ limit: 2, marker: 'b' }));
    assert.deepEqual([ids(last), last.more], [['c'], false]);
    assert.deepEqual(ids(applyListQuery(items, q({ marker: 'gone' }))), []);
    assert.throws(() => applyListQuery(items, q({ sorts: [{ key: 'colour', dir: 'asc' }] })), NeutronError);
  });
});

describe('security group rules', () => {
  it('stores what was asked, normalising prefixes', () => {
    assert.deepEqual(checkRule({ direction: 'ingress', protocol: 'TCP', portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: '192.0.2.9/24' }), {
      direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', port_range_min: 22, port_range_max: 22, remote_ip_prefix: '192.0.2.0/24', remote_group_id: null,
    });
    assert.equal(checkRule({ direction: 'egress', protocol: 'any' }).protocol, null);
    assert.equal(checkRule({ direction: 'egress', remoteIpPrefix: '192.0.2.9' }).remote_ip_prefix, '192.0.2.9/32');
  });

  it('sees tcp as 6 and 0.0.0.0/0 as no prefix when comparing rules', () => {
    const a = checkRule({ direction: 'ingress', protocol: 'tcp', portRangeMin: 80, portRangeMax: 80, remoteIpPrefix: '0.0.0.0/0' });
    const b = checkRule({ direction: 'ingress', protocol: '6', portRangeMin: 80, portRangeMax: 80 });
    assert.equal(fingerprint(a), fingerprint(b));
    assert.notEqual(fingerprint(a), fingerprint({ ...b, port_range_max: 81 }));
  });

  it('refuses ports without a ported protocol and ICMP codes without a type', () => {
    assert.throws(() => checkRule({ direction: 'ingress', protocol: 'icmp', portRangeMax: 0 }), (e) => e instanceof NeutronError && e.type === 'SecurityGroupMissingIcmpType');
    assert.throws(() => checkRule({ direction: 'ingress', protocol: 'vrrp', portRangeMin: 1, portRangeMax: 1 }), (e) => e instanceof NeutronError && e.status === 400);
  });
});
