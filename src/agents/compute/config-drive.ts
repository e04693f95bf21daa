// The config drive: an iso9660 filesystem labelled `config-2` with the instance's metadata in
// OpenStack's layout, which a guest reads when no metadata service answers. Nova writes one
// directory per metadata version; we write the oldest (2012-08-10, which older cloud-init and
// CirrOS still probe) and `latest`, each with the fields that version defines.
//
// `configDriveFiles` is pure (golden-tested); `writeConfigDrive` makes the ISO with genisoimage
// exactly as Nova invokes it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run } from '../../host/run.ts';

/** network_data.json (Nova's format; see the OpenStack metadata service docs). */
export type NetworkData = {
  links: Array<{ id: string; type: string; ethernet_mac_address?: string; mtu?: number | null; vif_id?: string; [k: string]: unknown }>;
  networks: Array<{ id: string; type: string; link: string; network_id?: string; ip_address?: string; netmask?: string; routes?: unknown[]; [k: string]: unknown }>;
  services: Array<{ type: string; address: string; [k: string]: unknown }>;
};

export type ConfigDriveInput = {
  uuid: string;
  /** The server's display name. */
  name: string;
  /** Defaults to the display name made a valid host name, as Nova does. */
  hostname?: string;
  /** Key pair name -> OpenSSH public key (Nova passes the server's one key pair). */
  publicKeys?: Record<string, string>;
  /** Raw user data (the API's base64 already decoded). */
  userData?: string | Uint8Array;
  networkData?: NetworkData;
  /** Server metadata (`openstack server create --property k=v`): meta_data.json "meta". */
  meta?: Record<string, string>;
  availabilityZone?: string | null;
  projectId?: string;
  launchIndex?: number;
  /** base64 random bytes for the guest's entropy pool (Nova sends 512 random bytes). */
  randomSeed?: string;
  /** meta_data.json "devices" (device role tagging); Nova writes [] when none are tagged. */
  devices?: unknown[];
  /** vendor_data.json content. */
  vendorData?: Record<string, unknown>;
  /** meta_data.json "admin_pass" (Nova puts the server's admin password on the drive). */
  adminPass?: string;
};

export type ConfigDriveFiles = Map<string, string | Uint8Array>;

/** The metadata versions written, oldest first; "latest" has every field. */
export const CONFIG_DRIVE_VERSIONS = ['2012-08-10', 'latest'] as const;

/** Version names sort by date; 'latest' is newer than every date. */
const atLeast = (version: string, since: string) => version === 'latest' || version >= since;

/** Nova's sanitize_hostname: lowercase, spaces and '_' to '-', other characters dropped. */
export function sanitizeHostname(name: string, uuid: string): string {
  const h = name.toLowerCase().replace(/[ _]/g, '-').replace(/[^a-z0-9.-]/g, '')
    .replace(/^[.-]+|[.-]+$/g, '').slice(0, 63).replace(/[.-]+$/g, '');
  return h || `server-${uuid}`;
}

export function metaData(input: ConfigDriveInput, version: string): Record<string, unknown> {
  // Key order follows Nova's InstanceMetadata._metadata_as_json.
  const md: Record<string, unknown> = { uuid: input.uuid };
  if (input.meta && Object.keys(input.meta).length) md.meta = input.meta;
  if (input.adminPass !== undefined) md.admin_pass = input.adminPass;
  const keys = Object.entries(input.publicKeys ?? {});
  if (keys.length) {
    md.public_keys = Object.fromEntries(keys);
    md.keys = keys.map(([name, data]) => ({ name, type: 'ssh', data }));
  }
  md.hostname = input.hostname ?? sanitizeHostname(input.name, input.uuid);
  md.name = input.name;
  md.launch_index = input.launchIndex ?? 0;
  md.availability_zone = input.availabilityZone ?? 'nova';
  if (atLeast(version, '2013-04-04') && input.randomSeed !== undefined) md.random_seed = input.randomSeed;
  if (atLeast(version, '2015-10-15') && input.projectId !== undefined) md.project_id = input.projectId;
  if (atLeast(version, '2016-06-30')) md.devices = input.devices ?? [];
  return md;
}

/**
 * The files of one OpenStack metadata version, name -> content, in the order Nova lists them.
 * The config drive and the metadata service (src/services/compute/metadata/) both serve these,
 * so a guest reads the same data from either.
 */
export function openstackVersionFiles(input: ConfigDriveInput, version: string): Map<string, string | Uint8Array> {
  const files = new Map<string, string | Uint8Array>();
  const json = (v: unknown) => JSON.stringify(v);
  files.set('meta_data.json', json(metaData(input, version)));
  if (input.userData !== undefined) files.set('user_data', input.userData);
  if (atLeast(version, '2013-10-17')) files.set('vendor_data.json', json(input.vendorData ?? {}));
  if (atLeast(version, '2015-10-15')) files.set('network_data.json', json(input.networkData ?? { links: [], networks: [], services: [] }));
  if (atLeast(version, '2016-10-06')) files.set('vendor_data2.json', json({}));
  return files;
}

/** Every file of the drive, path -> content, in path order. */
export function configDriveFiles(input: ConfigDriveInput): ConfigDriveFiles {
  const files = new Map<string, string | Uint8Array>();
  for (const version of CONFIG_DRIVE_VERSIONS) {
    for (const [name, content] of openstackVersionFiles(input, version)) files.set(`openstack/${version}/${name}`, content);
  }
  return new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The iso9660 volume label that guests (cloud-init, nubo-init) look config drives up by. */
export const CONFIG_DRIVE_LABEL = 'config-2';

/** Writes the files as an iso9660 image with Rock Ridge and Joliet names, labelled config-2. */
export async function writeConfigDrive(files: ConfigDriveFiles, isoPath: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nubo-config-drive-'));
  try {
    for (const [path, content] of files) {
      if (path.startsWith('/') || path.split('/').includes('..')) throw new Error(`config drive: bad path ${path}`);
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    // Nova's own genisoimage arguments (nova/virt/configdrive.py).
    await run(['genisoimage', '-o', isoPath, '-ldots', '-allow-lowercase', '-allow-multidot', '-l',
      '-publisher', 'Nubo', '-quiet', '-J', '-r', '-V', CONFIG_DRIVE_LABEL, dir]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
