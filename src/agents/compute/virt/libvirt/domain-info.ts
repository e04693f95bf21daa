// What the driver reads back from a domain's XML (live or inactive): whether it is one of
// ours (Nubo's metadata, found by namespace URI, whatever prefix libvirt keeps), the VNC
// port libvirt picked, the disks and the console log file.
import { NUBO_XMLNS } from './domain-xml.ts';
import { attr, attrs, child, childNames, children, parseXmlRoot, text, type XmlElement } from './xml-read.ts';

export type NuboInstanceMetadata = {
  displayName: string;
  createdAt: string;
  flavor: { id: string; name: string; memoryMb: number; rootGb: number; swapMb: number; ephemeralGb: number; vcpus: number };
  userId: string;
  projectId: string;
  imageId: string;
  portIds: string[];
};

export type DomainDiskInfo = { device: string; target: string; file: string | null; format: string | null };

export type DomainInfoXml = {
  type: string;
  name: string;
  uuid: string;
  /** Nubo's metadata; null for a domain Nubo did not define (never touch those). */
  nubo: NuboInstanceMetadata | null;
  /** Set in the live XML of a running domain with VNC; autoport leaves it -1 until then. */
  vnc: { port: number; listen: string } | null;
  disks: DomainDiskInfo[];
  /** The serial port's log file (virtlogd), if any. */
  consoleLog: string | null;
  /** The MAC addresses of the domain's NICs (interface attach/detach find theirs by it). */
  macs: string[];
};

export function parseDomainXml(xml: string): DomainInfoXml {
  const dom = parseXmlRoot(xml, 'domain');
  const devices = child(dom, 'devices');
  const graphics = children(devices, 'graphics').find((g) => attr(g, 'type') === 'vnc');
  const port = Number(attr(graphics, 'port') ?? -1);
  const listen = attr(child(graphics, 'listen'), 'address') ?? attr(graphics, 'listen') ?? '127.0.0.1';
  const serialLog = children(devices, 'serial').concat(children(devices, 'console'))
    .map((s) => attr(child(s, 'log'), 'file')).find((f) => f !== undefined);
  return {
    type: attr(dom, 'type') ?? '',
    name: text(child(dom, 'name')) ?? '',
    uuid: text(child(dom, 'uuid')) ?? '',
    nubo: nuboMetadata(child(dom, 'metadata')),
    vnc: graphics && Number.isInteger(port) && port > 0 ? { port, listen } : null,
    disks: children(devices, 'disk').map((d) => ({
      device: attr(d, 'device') ?? 'disk',
      target: attr(child(d, 'target'), 'dev') ?? '',
      file: attr(child(d, 'source'), 'file') ?? null,
      format: attr(child(d, 'driver'), 'type') ?? null,
    })),
    consoleLog: serialLog ?? null,
    macs: children(devices, 'interface').map((i) => (attr(child(i, 'mac'), 'address') ?? '').toLowerCase()).filter(Boolean),
  };
}

/** Nubo's <instance> element among the metadata children: the one in our namespace. */
function nuboMetadata(metadata: XmlElement | undefined): NuboInstanceMetadata | null {
  for (const key of childNames(metadata)) {
    const [prefix, local] = key.includes(':') ? key.split(':', 2) as [string, string] : ['', key];
    if (local !== 'instance') continue;
    for (const inst of children(metadata, key)) {
      if (attrs(inst)[prefix ? `xmlns:${prefix}` : 'xmlns'] !== NUBO_XMLNS) continue;
      const n = (name: string) => (prefix ? `${prefix}:${name}` : name);
      const flavor = child(inst, n('flavor'));
      const num = (name: string) => Number(text(child(flavor, n(name))) ?? 0);
      const owner = child(inst, n('owner'));
      return {
        displayName: text(child(inst, n('name'))) ?? '',
        createdAt: text(child(inst, n('creationTime'))) ?? '',
        flavor: {
          id: attr(flavor, 'id') ?? '', name: attr(flavor, 'name') ?? '',
          memoryMb: num('memory'), rootGb: num('disk'), swapMb: num('swap'), ephemeralGb: num('ephemeral'), vcpus: num('vcpus'),
        },
        userId: attr(child(owner, n('user')), 'uuid') ?? '',
        projectId: attr(child(owner, n('project')), 'uuid') ?? '',
        imageId: attr(child(inst, n('root')), 'uuid') ?? '',
        portIds: children(child(inst, n('ports')), n('port')).map((p) => attr(p, 'uuid') ?? ''),
      };
    }
  }
  return null;
}
