// Settings: built-in defaults, then the config file (JSON), then environment variables.
// The config file is $NUBO_CONFIG, else <stateDir>/nubo.json when it exists.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { UPSTREAM_ROOT_DEVICE } from '../agents/network/names.ts';

export type Config = {
  stateDir: string;
  listen: { host: string; port: number };
  /** Base URL advertised in the catalog and version documents. */
  publicUrl: string;
  /** sqlite:<path> (default) or postgres://… */
  databaseUrl: string;
  region: string;
  logLevel: string;
  identity: {
    tokenExpirationSeconds: number;
    maxActiveKeys: number;
    /** argon2id cost: memory in KiB and passes (OWASP's second recommended profile). */
    argon2: { memoryKiB: number; passes: number };
    /** Path to a JSON file of policy overrides (action -> oslo.policy check string). */
    policyFile: string | null;
  };
  image: {
    /** The file store's directory (images/<id>); staging area beside it (images/staging). */
    storeDir: string;
    /** Largest image accepted, in bytes (Glance's image_size_cap). */
    sizeCap: number;
    /** Quotas every project gets (image count, stored bytes, staged bytes); -1 is unlimited. */
    quota: { imageCount: number; totalBytes: number; stageBytes: number };
    /** qemu-img limits for inspecting untrusted uploads. */
    inspect: { timeoutSeconds: number; memoryBytes: number };
    policyFile: string | null;
  };
  compute: ComputeConfig;
  network: NetworkConfig;
};

/** The quotas the network API counts per project (Neutron's names). */
export const NETWORK_QUOTA_RESOURCES = ['network', 'subnet', 'port', 'router', 'floatingip', 'security_group', 'security_group_rule'] as const;
export type NetworkQuotaResource = (typeof NETWORK_QUOTA_RESOURCES)[number];

export type NetworkConfig = {
  /** VNIs handed to vxlan networks that do not name one (Neutron's ml2_type_vxlan vni_ranges). */
  vniRange: { min: number; max: number };
  /** Physical network names flat networks may use; '*' allows any (Neutron's flat_networks). */
  flatNetworks: string[];
  /** MTU of the underlying network: flat networks get it, vxlan networks 50 bytes less (Neutron's global_physnet_mtu). */
  globalMtu: number;
  /** The one availability zone networks and routers are in. */
  availabilityZone: string;
  /** Default per-project quotas; -1 is unlimited. */
  quota: Record<NetworkQuotaResource, number>;
  /** Path to a JSON file of policy overrides. */
  policyFile: string | null;
  /**
   * The starting networks `./nubo up` makes (app/bootstrap.ts), once per database: `enabled`
   * (default true; test servers turn it off), DNS servers of the admin project's private subnet.
   */
  bootstrap: { enabled: boolean; dnsNameservers: string[] };
  /**
   * The simulated outside world of a development host (agents/network/upstream.ts): when the
   * network agent runs here, the nubo-upstream namespace holds the public subnet's gateway and
   * physical network `public` maps to its veth by default. Default true; test servers turn it off.
   */
  upstream: { enabled: boolean };
  /**
   * The host whose network agent serves DHCP: DHCP ports are bound to it. Defaults to this
   * host (compute.host) when the network agent runs here, else none (no DHCP ports are made,
   * as Neutron makes none while no DHCP agent serves a network).
   */
  dhcpHost: string | null;
  /**
   * The host whose network agent runs the routers (qrouter- namespaces, NAT, floating IPs):
   * routers' gateway and interface ports are bound to it. Defaults like dhcpHost.
   */
  l3Host: string | null;
  /** This host's VXLAN underlay address; null (default): a single host, no VXLAN device at all. */
  tunnelIp: string | null;
  /** Physical network name -> the interface flat networks of it use on this host (Neutron's physical_interface_mappings). */
  physicalInterfaceMappings: Record<string, string>;
  /** The network agent of this host (bridges, DHCP). */
  agent: {
    enabled: boolean;
    /** Full reconcile period, besides the one after every change. */
    resyncSeconds: number;
    /** DHCP lease time (Neutron's dhcp_lease_duration). */
    dhcpLeaseSeconds: number;
  };
};

export type ComputeConfig = {
  /** This host's name as services and placement know it (Nova's CONF.host). */
  host: string;
  /** The agent's hypervisor driver: real guests through libvirt, in-memory ones, or none (an API-only node). */
  driver: 'libvirt' | 'fake' | 'none';
  /** auto: kvm when /dev/kvm really runs guests, else qemu (TCG). */
  virtType: 'auto' | 'kvm' | 'qemu';
  /** Instance directories (<uuid>/disk, console.log, disk.config) and the image cache (_base). */
  instancesDir: string;
  libvirtSocket: string;
  defaultAvailabilityZone: string;
  cpuAllocationRatio: number;
  ramAllocationRatio: number;
  diskAllocationRatio: number;
  reservedHostMemoryMb: number;
  reservedHostDiskGb: number;
  reservedHostCpus: number;
  /** How often the agent reports in, and how long without a report makes a host `down`. */
  heartbeatSeconds: number;
  serviceDownSeconds: number;
  /** The periodic power-state sync that catches what libvirt events missed. */
  syncPowerStateSeconds: number;
  /** On agent start, undefine instance domains that no instance owns (else only reported). */
  removeOrphanDomains: boolean;
  cleanShutdownTimeoutSeconds: number;
  /**
   * How long a boot or interface attach waits for the network agent to report the server's ports
   * wired (Nova's vif_plugging_timeout, fatal): ACTIVE only once they are. 0: do not wait (a host
   * without a network agent, e.g. the fake driver's tests). Env NUBO_COMPUTE_VIF_PLUGGING_TIMEOUT.
   */
  vifPluggingTimeoutSeconds: number;
  /** Default per-project quotas (Nova's names); -1 is unlimited. */
  quota: Record<'instances' | 'cores' | 'ram' | 'key_pairs' | 'metadata_items' | 'server_groups' | 'server_group_members' | 'injected_files' | 'injected_file_content_bytes' | 'injected_file_path_bytes', number>;
  scheduler: {
    /** spread: prefer the emptiest host; pack: the fullest. */
    strategy: 'spread' | 'pack';
    ramWeightMultiplier: number;
    cpuWeightMultiplier: number;
    softAffinityWeightMultiplier: number;
    softAntiAffinityWeightMultiplier: number;
    /**
     * The scheduler keeps host states in memory, current with what this process does; it reads
     * them all again when they are older than this, to see what other processes and direct
     * placement API calls changed (0: read them for every boot).
     */
    hostStateRefreshSeconds: number;
  };
};

export const DEFAULT_STATE_DIR = '/var/lib/nubo';
export const DEFAULT_PORT = 8080;

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const stateDir = resolve(env.NUBO_STATE_DIR ?? DEFAULT_STATE_DIR);
  const filePath = env.NUBO_CONFIG ?? join(stateDir, 'nubo.json');
  const file = existsSync(filePath) ? parseConfigFile(filePath) : {};

  const host = env.NUBO_LISTEN ?? file.listen?.host ?? '127.0.0.1';
  const port = intSetting('NUBO_PORT', env.NUBO_PORT) ?? file.listen?.port ?? DEFAULT_PORT;
  const cfg: Config = {
    stateDir,
    listen: { host, port },
    publicUrl: env.NUBO_PUBLIC_URL ?? file.publicUrl ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    databaseUrl: env.NUBO_DATABASE_URL ?? file.databaseUrl ?? `sqlite:${join(stateDir, 'nubo.db')}`,
    region: file.region ?? 'RegionOne',
    logLevel: env.NUBO_LOG_LEVEL ?? file.logLevel ?? 'info',
    identity: {
      tokenExpirationSeconds: file.identity?.tokenExpirationSeconds ?? 3600,
      maxActiveKeys: file.identity?.maxActiveKeys ?? 3,
      argon2: { memoryKiB: 19456, passes: 2, ...file.identity?.argon2 },
      policyFile: file.identity?.policyFile ?? null,
    },
    image: {
      storeDir: resolve(stateDir, file.image?.storeDir ?? 'images'),
      sizeCap: file.image?.sizeCap ?? 1024 ** 4,
      quota: { imageCount: -1, totalBytes: -1, stageBytes: -1, ...file.image?.quota },
      inspect: { timeoutSeconds: 30, memoryBytes: 1024 ** 3, ...file.image?.inspect },
      policyFile: file.image?.policyFile ?? null,
    },
    compute: computeConfig(stateDir, env, file.compute ?? {}),
    network: networkConfig(file.network ?? {}, env),
  };
  // '' names no DHCP (L3) host at all.
  cfg.network.dhcpHost = (cfg.network.dhcpHost ?? (cfg.network.agent.enabled ? cfg.compute.host : null)) || null;
  cfg.network.l3Host = (cfg.network.l3Host ?? (cfg.network.agent.enabled ? cfg.compute.host : null)) || null;
  cfg.publicUrl = cfg.publicUrl.replace(/\/+$/, '');
  return cfg;
}

function computeConfig(stateDir: string, env: Env, file: DeepPartial<ComputeConfig>): ComputeConfig {
  const driver = env.NUBO_COMPUTE_DRIVER ?? file.driver ?? 'libvirt';
  if (driver !== 'libvirt' && driver !== 'fake' && driver !== 'none') throw new Error(`compute.driver must be libvirt, fake or none, got '${driver}'`);
  const virtType = file.virtType ?? 'auto';
  if (!['auto', 'kvm', 'qemu'].includes(virtType)) throw new Error(`compute.virtType must be auto, kvm or qemu, got '${virtType}'`);
  const refresh = file.scheduler?.hostStateRefreshSeconds ?? 10;
  if (typeof refresh !== 'number' || !Number.isFinite(refresh) || refresh < 0) {
    throw new Error(`compute.scheduler.hostStateRefreshSeconds must be a number of seconds ≥ 0, got ${JSON.stringify(refresh)}`);
  }
  const vifTimeout = env.NUBO_COMPUTE_VIF_PLUGGING_TIMEOUT !== undefined && env.NUBO_COMPUTE_VIF_PLUGGING_TIMEOUT !== '' ? Number(env.NUBO_COMPUTE_VIF_PLUGGING_TIMEOUT) : file.vifPluggingTimeoutSeconds ?? 300;
  if (typeof vifTimeout !== 'number' || !Number.isFinite(vifTimeout) || vifTimeout < 0) {
    throw new Error(`compute.vifPluggingTimeoutSeconds must be a number of seconds ≥ 0, got ${JSON.stringify(vifTimeout)}`);
  }
  return {
    host: env.NUBO_COMPUTE_HOST ?? file.host ?? hostname(),
    driver, virtType,
    instancesDir: resolve(stateDir, file.instancesDir ?? 'instances'),
    libvirtSocket: file.libvirtSocket ?? '/run/libvirt/libvirt-sock',
    defaultAvailabilityZone: file.defaultAvailabilityZone ?? 'nova',
    // Nova's initial_*_allocation_ratio and reserved_host_* defaults.
    cpuAllocationRatio: file.cpuAllocationRatio ?? 4.0,
    ramAllocationRatio: file.ramAllocationRatio ?? 1.0,
    diskAllocationRatio: file.diskAllocationRatio ?? 1.0,
    reservedHostMemoryMb: file.reservedHostMemoryMb ?? 512,
    reservedHostDiskGb: file.reservedHostDiskGb ?? 0,
    reservedHostCpus: file.reservedHostCpus ?? 0,
    heartbeatSeconds: file.heartbeatSeconds ?? 10,
    serviceDownSeconds: file.serviceDownSeconds ?? 60,
    syncPowerStateSeconds: file.syncPowerStateSeconds ?? 60,
    removeOrphanDomains: file.removeOrphanDomains ?? false,
    cleanShutdownTimeoutSeconds: file.cleanShutdownTimeoutSeconds ?? 60,
    vifPluggingTimeoutSeconds: vifTimeout,
    quota: {
      instances: 10, cores: 20, ram: 51200, key_pairs: 100, metadata_items: 128, server_groups: 10,
      server_group_members: 10, injected_files: 5, injected_file_content_bytes: 10240, injected_file_path_bytes: 255,
      ...file.quota,
    },
    scheduler: {
      strategy: 'spread', ramWeightMultiplier: 1.0, cpuWeightMultiplier: 1.0,
      softAffinityWeightMultiplier: 1.0, softAntiAffinityWeightMultiplier: 1.0,
      ...file.scheduler, hostStateRefreshSeconds: refresh,
    },
  };
}

const VNI_MAX = 2 ** 24 - 1;


function boolSetting(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new Error(`${name} must be true or false, got '${value}'`);
}

function networkConfig(file: DeepPartial<NetworkConfig>, env: Env): NetworkConfig {
  const vniRange = { min: 1, max: 65535, ...file.vniRange };
  if (!Number.isInteger(vniRange.min) || !Number.isInteger(vniRange.max) || vniRange.min < 1 || vniRange.max > VNI_MAX || vniRange.min > vniRange.max) {
    throw new Error(`network.vniRange must be integers with 1 <= min <= max <= ${VNI_MAX}, got ${JSON.stringify(vniRange)}`);
  }
  const globalMtu = file.globalMtu ?? 1500;
  const upstream = boolSetting('NUBO_NETWORK_UPSTREAM', env.NUBO_NETWORK_UPSTREAM) ?? file.upstream?.enabled ?? true;
  if (!Number.isInteger(globalMtu) || globalMtu < 1280 || globalMtu > 9216) throw new Error(`network.globalMtu must be an integer from 1280 to 9216, got ${globalMtu}`);
  return {
    vniRange,
    flatNetworks: (file.flatNetworks as string[] | undefined) ?? ['public'],
    globalMtu,
    availabilityZone: file.availabilityZone ?? 'nova',
    // Neutron's default quotas.
    quota: { network: 100, subnet: 100, port: 500, router: 10, floatingip: 50, security_group: 10, security_group_rule: 100, ...file.quota },
    policyFile: file.policyFile ?? null,
    bootstrap: {
      enabled: boolSetting('NUBO_NETWORK_BOOTSTRAP', env.NUBO_NETWORK_BOOTSTRAP) ?? file.bootstrap?.enabled ?? true,
      dnsNameservers: (file.bootstrap?.dnsNameservers as string[] | undefined) ?? [],
    },
    upstream: { enabled: upstream },
    // Filled in by loadConfig once compute.host is known.
    dhcpHost: env.NUBO_DHCP_HOST ?? file.dhcpHost ?? null,
    l3Host: env.NUBO_L3_HOST ?? file.l3Host ?? null,
    tunnelIp: file.tunnelIp ?? null,
    physicalInterfaceMappings: (file.physicalInterfaceMappings as Record<string, string> | undefined) ?? (upstream ? { public: UPSTREAM_ROOT_DEVICE } : {}),
    agent: {
      enabled: boolSetting('NUBO_NETWORK_AGENT', env.NUBO_NETWORK_AGENT) ?? file.agent?.enabled ?? true,
      resyncSeconds: file.agent?.resyncSeconds ?? 30,
      dhcpLeaseSeconds: file.agent?.dhcpLeaseSeconds ?? 86400,
    },
  };
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

function parseConfigFile(path: string): DeepPartial<Config> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`config file ${path} must hold a JSON object`);
  }
  return parsed;
}

function intSetting(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number, got '${value}'`);
  return n;
}
