// The metadata service's path tree, as Nova's metadata API lays it out (nova/api/metadata/
// base.py lookup, handler.py): `/openstack/<version>/<file>` serves exactly the files the config
// drive holds (openstackVersionFiles), everything else is the EC2 tree (`/<version>/meta-data/…`,
// `/<version>/user-data`). Directories list their entries one per line, sub-directories with a
// trailing '/'. Pure: golden-tested in test/unit/compute/metadata-tree.test.ts.
import { openstackVersionFiles } from '../../../agents/compute/config-drive.ts';
import type { InstanceMetadata } from './source.ts';

/** Nova's OpenStack metadata versions (FOLSOM … VICTORIA); 'latest' has every field. */
export const OPENSTACK_VERSIONS = ['2012-08-10', '2013-04-04', '2013-10-17', '2015-10-15', '2016-06-30', '2016-10-06', '2017-02-22', '2018-08-27', '2020-10-14'] as const;
/** The EC2 metadata versions Nova serves; 'latest' is the last. */
export const EC2_VERSIONS = ['1.0', '2007-01-19', '2007-03-01', '2007-08-29', '2007-10-10', '2007-12-15', '2008-02-01', '2008-09-01', '2009-04-04'] as const;

export type MetadataAnswer = { contentType: string; body: string | Uint8Array };

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json';
const text = (lines: readonly string[]): MetadataAnswer => ({ contentType: TEXT, body: lines.join('\n') });

/** An EC2 tree node: a leaf, a list (printed one per line), or a directory ('_name' is how its parent lists it). */
type Ec2Node = string | number | Uint8Array | string[] | { [key: string]: Ec2Node };

function ec2Tree(md: InstanceMetadata, version: string): Record<string, Ec2Node> {
  const at = (since: string) => EC2_VERSIONS.indexOf(version as (typeof EC2_VERSIONS)[number]) >= EC2_VERSIONS.indexOf(since as (typeof EC2_VERSIONS)[number]);
  const { openstack: os, ec2 } = md;
  const hostname = os.hostname ?? '';
  const meta: Record<string, Ec2Node> = {
    'ami-id': ec2.amiId,
    'ami-launch-index': os.launchIndex ?? 0,
    'ami-manifest-path': 'FIXME',
    'instance-id': ec2.instanceId,
    hostname,
    'local-ipv4': ec2.localIpv4,
    'reservation-id': ec2.reservationId,
    'security-groups': ec2.securityGroups,
  };
  // public-keys/ lists "0=<name>"; public-keys/0/ lists "openssh-key".
  if (ec2.keyName && ec2.keyData) meta['public-keys'] = { 0: { _name: `0=${ec2.keyName}`, 'openssh-key': ec2.keyData } };
  if (at('2007-01-19')) Object.assign(meta, { 'local-hostname': hostname, 'public-hostname': hostname, 'public-ipv4': ec2.publicIpv4 });
  if (at('2007-08-29')) meta['instance-type'] = ec2.instanceType;
  if (at('2007-12-15')) meta['block-device-mapping'] = { ami: 'vda', root: '/dev/vda' };
  if (at('2008-02-01')) meta.placement = { 'availability-zone': os.availabilityZone ?? 'nova' };
  if (at('2008-09-01')) meta['instance-action'] = 'none';
  const tree: Record<string, Ec2Node> = { 'meta-data': meta };
  if (os.userData !== undefined) tree['user-data'] = os.userData;
  return tree;
}

/** Nova's ec2_md_print. */
function printEc2(node: Ec2Node): MetadataAnswer {
  if (typeof node === 'string' || typeof node === 'number') return { contentType: TEXT, body: String(node) };
  if (node instanceof Uint8Array) return { contentType: TEXT, body: node };
  if (Array.isArray(node)) return text(node);
  return text(Object.keys(node).filter((k) => k !== '_name').sort().map((k) => {
    const child = node[k] as Ec2Node;
    if (typeof child === 'object' && !Array.isArray(child) && !(child instanceof Uint8Array)) return typeof child._name === 'string' ? child._name : `${k}/`;
    return k;
  }));
}

/** posixpath.normpath of an absolute path, split into its segments ('/' is []). */
function segments(path: string): string[] {
  const out: string[] = [];
  for (const part of path.split('?')[0]?.split('/') ?? []) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out;
}

/** The answer for a path of the metadata service, or null for 404. */
export function lookupMetadata(md: InstanceMetadata, path: string): MetadataAnswer | null {
  const tokens = segments(path);
  if (tokens[0] === 'openstack') {
    const [, version, file, ...rest] = tokens;
    if (version === undefined) return text([...OPENSTACK_VERSIONS, 'latest']);
    if (version !== 'latest' && !(OPENSTACK_VERSIONS as readonly string[]).includes(version)) return null;
    const files = openstackVersionFiles(md.openstack, version);
    if (file === undefined) return text([...files.keys()]);
    const content = files.get(file);
    if (content === undefined || rest.length) return null;
    return { contentType: file.endsWith('.json') ? JSON_TYPE : TEXT, body: content };
  }
  // Anything else is EC2 ("/ec2/…" is accepted as Nova does).
  const ec2 = tokens[0] === 'ec2' ? tokens.slice(1) : tokens;
  const [version, ...rest] = ec2;
  if (version === undefined) return text([...EC2_VERSIONS, 'latest']);
  if (version !== 'latest' && !(EC2_VERSIONS as readonly string[]).includes(version)) return null;
  let node: Ec2Node = ec2Tree(md, version === 'latest' ? EC2_VERSIONS[EC2_VERSIONS.length - 1] as string : version);
  for (const key of rest) {
    if (typeof node !== 'object' || Array.isArray(node) || node instanceof Uint8Array || key === '_name' || !(key in node)) return null;
    node = node[key] as Ec2Node;
  }
  return printEc2(node);
}
