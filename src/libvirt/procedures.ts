// The remote procedures Nubo uses: their numbers (enum remote_procedure in libvirt's
// src/remote/remote_protocol.x; the protocol is append-only, so these never change) and the
// codecs of their XXX_args / XXX_ret structs. A struct with a single field is encoded exactly
// like that field, so such args and rets use the field's codec directly.
import type { BlockStats, DomainInfo, InterfaceStats, LifecycleEvent, NodeInfo } from './connection.ts';
import { xDomain, xNonnullString, xRemoteString, xSnapshot, xUuid } from './remote-types.ts';
import { xArray, xBool, xFixedArray, xHyper, xInt, xMap, xOptional, xStruct, xUhyper, xUint, xVoid, type Codec } from './xdr.ts';

/** remote_procedure numbers, named as in remote_protocol.x without the REMOTE_PROC_ prefix. */
export const ProcNumber = {
  CONNECT_OPEN: 1,
  CONNECT_CLOSE: 2,
  CONNECT_GET_VERSION: 4,
  NODE_GET_INFO: 6,
  CONNECT_GET_CAPABILITIES: 7,
  DOMAIN_GET_XML_DESC: 14,
  DOMAIN_GET_INFO: 16,
  DOMAIN_LOOKUP_BY_NAME: 23,
  DOMAIN_LOOKUP_BY_UUID: 24,
  DOMAIN_REBOOT: 27,
  DOMAIN_RESUME: 28,
  DOMAIN_SUSPEND: 34,
  CONNECT_GET_HOSTNAME: 59,
  DOMAIN_BLOCK_STATS: 64,
  DOMAIN_INTERFACE_STATS: 65,
  AUTH_LIST: 66,
  AUTH_POLKIT: 70,
  CONNECT_GET_LIB_VERSION: 157,
  DOMAIN_MEMORY_STATS: 159,
  DOMAIN_ATTACH_DEVICE_FLAGS: 160,
  DOMAIN_DETACH_DEVICE_FLAGS: 161,
  DOMAIN_MANAGED_SAVE: 182,
  DOMAIN_HAS_MANAGED_SAVE_IMAGE: 183,
  DOMAIN_MANAGED_SAVE_REMOVE: 184,
  DOMAIN_SNAPSHOT_CREATE_XML: 185,
  DOMAIN_SNAPSHOT_LOOKUP_BY_NAME: 189,
  DOMAIN_REVERT_TO_SNAPSHOT: 192,
  DOMAIN_SNAPSHOT_DELETE: 193,
  DOMAIN_CREATE_WITH_FLAGS: 196,
  DOMAIN_GET_STATE: 212,
  DOMAIN_UNDEFINE_FLAGS: 231,
  DOMAIN_DESTROY_FLAGS: 234,
  DOMAIN_RESET: 245,
  DOMAIN_SHUTDOWN_FLAGS: 258,
  CONNECT_LIST_ALL_DOMAINS: 273,
  DOMAIN_LIST_ALL_SNAPSHOTS: 274,
  CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY: 316,
  CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY: 317,
  DOMAIN_EVENT_CALLBACK_LIFECYCLE: 318,
  DOMAIN_DEFINE_XML_FLAGS: 350,
} as const;

export type ProcName = keyof typeof ProcNumber;

/** One remote procedure: its number and the codecs of its arguments and its return value. */
export type Procedure<A, R> = { readonly name: ProcName; readonly number: number; readonly args: Codec<A>; readonly ret: Codec<R> };

function proc<A, R>(name: ProcName, args: Codec<A>, ret: Codec<R>): Procedure<A, R> {
  return { name, number: ProcNumber[name], args, ret };
}

/** remote_auth_type. */
export const AuthType = { NONE: 0, SASL: 1, POLKIT: 2 } as const;

/** virDomainEventID: the lifecycle event is the one Nubo registers for. */
export const DomainEventId = { LIFECYCLE: 0 } as const;

const domFlags = xStruct({ dom: xDomain, flags: xUint });
const domXmlFlags = xStruct({ dom: xDomain, xml: xNonnullString, flags: xUint });
const snapFlags = xStruct({ snap: xSnapshot, flags: xUint });

/** remote_node_get_info_ret; `char model[32]` is 32 XDR ints, a NUL-padded C string. */
const xNodeInfo: Codec<NodeInfo> = xMap(
  xStruct({ model: xFixedArray(xInt, 32), memory: xUhyper, cpus: xInt, mhz: xInt, nodes: xInt, sockets: xInt, cores: xInt, threads: xInt }),
  (w) => {
    const bytes = w.model.map((c) => c & 0xff);
    const end = bytes.indexOf(0);
    return {
      model: Buffer.from(end < 0 ? bytes : bytes.slice(0, end)).toString('utf8'),
      memoryKiB: Number(w.memory), cpus: w.cpus, mhz: w.mhz, nodes: w.nodes, sockets: w.sockets, cores: w.cores, threads: w.threads,
    };
  },
  (v) => {
    const model = [...Buffer.from(v.model, 'utf8').subarray(0, 31)].map((b) => (b > 127 ? b - 256 : b));
    while (model.length < 32) model.push(0);
    return { model, memory: BigInt(v.memoryKiB), cpus: v.cpus, mhz: v.mhz, nodes: v.nodes, sockets: v.sockets, cores: v.cores, threads: v.threads };
  },
);

/** remote_domain_get_info_ret; `unsigned char` and `unsigned short` take 4 bytes each. */
const xDomainInfo: Codec<DomainInfo> = xMap(
  xStruct({ state: xUint, maxMem: xUhyper, memory: xUhyper, nrVirtCpu: xUint, cpuTime: xUhyper }),
  (w) => ({ state: w.state, maxMemKiB: Number(w.maxMem), memoryKiB: Number(w.memory), vcpus: w.nrVirtCpu, cpuTimeNs: w.cpuTime }),
  (v) => ({ state: v.state, maxMem: BigInt(v.maxMemKiB), memory: BigInt(v.memoryKiB), nrVirtCpu: v.vcpus, cpuTime: v.cpuTimeNs }),
);

const xBlockStats: Codec<BlockStats> = xMap(
  xStruct({ rdReq: xHyper, rdBytes: xHyper, wrReq: xHyper, wrBytes: xHyper, errs: xHyper }),
  (w) => ({ ...w }),
  (v) => ({ rdReq: v.rdReq, rdBytes: v.rdBytes, wrReq: v.wrReq, wrBytes: v.wrBytes, errs: v.errs }),
);

const xInterfaceStats: Codec<InterfaceStats> = xMap(
  xStruct({ rxBytes: xHyper, rxPackets: xHyper, rxErrs: xHyper, rxDrop: xHyper, txBytes: xHyper, txPackets: xHyper, txErrs: xHyper, txDrop: xHyper }),
  (w) => ({ ...w }),
  (v) => ({ rxBytes: v.rxBytes, rxPackets: v.rxPackets, rxErrs: v.rxErrs, rxDrop: v.rxDrop, txBytes: v.txBytes, txPackets: v.txPackets, txErrs: v.txErrs, txDrop: v.txDrop }),
);

/** remote_domain_memory_stats_ret: (tag, value) pairs, as a tag → value record. */
const xMemoryStats: Codec<Record<number, bigint>> = xMap(
  xArray(xStruct({ tag: xInt, val: xUhyper })),
  (w) => Object.fromEntries(w.map((s) => [s.tag, s.val])) as Record<number, bigint>,
  (v) => Object.entries(v).map(([tag, val]) => ({ tag: Number(tag), val })),
);

/** remote_domain_event_callback_lifecycle_msg. */
export const xLifecycleMsg: Codec<{ callbackID: number; event: LifecycleEvent }> = xMap(
  xStruct({ callbackID: xInt, msg: xStruct({ dom: xDomain, event: xInt, detail: xInt }) }),
  (w) => ({ callbackID: w.callbackID, event: { domain: w.msg.dom, event: w.msg.event, detail: w.msg.detail } }),
  (v) => ({ callbackID: v.callbackID, msg: { dom: v.event.domain, event: v.event.event, detail: v.event.detail } }),
);

export const Procedures = {
  authList: proc('AUTH_LIST', xVoid, xArray(xInt)),
  /** remote_auth_polkit_ret { int complete }. */
  authPolkit: proc('AUTH_POLKIT', xVoid, xInt),
  connectOpen: proc('CONNECT_OPEN', xStruct({ name: xRemoteString, flags: xUint }), xVoid),
  connectClose: proc('CONNECT_CLOSE', xVoid, xVoid),
  getVersion: proc('CONNECT_GET_VERSION', xVoid, xUhyper),
  getLibVersion: proc('CONNECT_GET_LIB_VERSION', xVoid, xUhyper),
  getHostname: proc('CONNECT_GET_HOSTNAME', xVoid, xNonnullString),
  getCapabilities: proc('CONNECT_GET_CAPABILITIES', xVoid, xNonnullString),
  nodeGetInfo: proc('NODE_GET_INFO', xVoid, xNodeInfo),

  listAllDomains: proc('CONNECT_LIST_ALL_DOMAINS', xStruct({ needResults: xInt, flags: xUint }), xStruct({ domains: xArray(xDomain), ret: xUint })),
  lookupByName: proc('DOMAIN_LOOKUP_BY_NAME', xNonnullString, xDomain),
  lookupByUUID: proc('DOMAIN_LOOKUP_BY_UUID', xUuid, xDomain),

  defineXMLFlags: proc('DOMAIN_DEFINE_XML_FLAGS', xStruct({ xml: xNonnullString, flags: xUint }), xDomain),
  undefineFlags: proc('DOMAIN_UNDEFINE_FLAGS', domFlags, xVoid),
  createWithFlags: proc('DOMAIN_CREATE_WITH_FLAGS', domFlags, xDomain),
  destroyFlags: proc('DOMAIN_DESTROY_FLAGS', domFlags, xVoid),
  shutdownFlags: proc('DOMAIN_SHUTDOWN_FLAGS', domFlags, xVoid),
  reboot: proc('DOMAIN_REBOOT', domFlags, xVoid),
  reset: proc('DOMAIN_RESET', domFlags, xVoid),
  suspend: proc('DOMAIN_SUSPEND', xDomain, xVoid),
  resume: proc('DOMAIN_RESUME', xDomain, xVoid),
  managedSave: proc('DOMAIN_MANAGED_SAVE', domFlags, xVoid),
  /** remote_domain_has_managed_save_image_ret { int result }. */
  hasManagedSaveImage: proc('DOMAIN_HAS_MANAGED_SAVE_IMAGE', domFlags, xBool),
  managedSaveRemove: proc('DOMAIN_MANAGED_SAVE_REMOVE', domFlags, xVoid),

  getXMLDesc: proc('DOMAIN_GET_XML_DESC', domFlags, xNonnullString),
  getState: proc('DOMAIN_GET_STATE', domFlags, xStruct({ state: xInt, reason: xInt })),
  getInfo: proc('DOMAIN_GET_INFO', xDomain, xDomainInfo),

  attachDeviceFlags: proc('DOMAIN_ATTACH_DEVICE_FLAGS', domXmlFlags, xVoid),
  detachDeviceFlags: proc('DOMAIN_DETACH_DEVICE_FLAGS', domXmlFlags, xVoid),

  snapshotCreateXML: proc('DOMAIN_SNAPSHOT_CREATE_XML', domXmlFlags, xSnapshot),
  listAllSnapshots: proc('DOMAIN_LIST_ALL_SNAPSHOTS', xStruct({ dom: xDomain, needResults: xInt, flags: xUint }), xStruct({ snapshots: xArray(xSnapshot), ret: xInt })),
  snapshotLookupByName: proc('DOMAIN_SNAPSHOT_LOOKUP_BY_NAME', xStruct({ dom: xDomain, name: xNonnullString, flags: xUint }), xSnapshot),
  revertToSnapshot: proc('DOMAIN_REVERT_TO_SNAPSHOT', snapFlags, xVoid),
  snapshotDelete: proc('DOMAIN_SNAPSHOT_DELETE', snapFlags, xVoid),

  blockStats: proc('DOMAIN_BLOCK_STATS', xStruct({ dom: xDomain, path: xNonnullString }), xBlockStats),
  interfaceStats: proc('DOMAIN_INTERFACE_STATS', xStruct({ dom: xDomain, device: xNonnullString }), xInterfaceStats),
  memoryStats: proc('DOMAIN_MEMORY_STATS', xStruct({ dom: xDomain, maxStats: xUint, flags: xUint }), xMemoryStats),

  eventCallbackRegisterAny: proc('CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY', xStruct({ eventID: xInt, dom: xOptional(xDomain) }), xInt),
  eventCallbackDeregisterAny: proc('CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY', xInt, xVoid),
} as const;

/** The number → name table, for messages that name a procedure. */
export const procName = (n: number): string =>
  (Object.entries(ProcNumber).find(([, v]) => v === n)?.[0] ?? `procedure ${n}`);
