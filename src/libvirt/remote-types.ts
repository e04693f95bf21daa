// The wire structs of remote_protocol.x that many procedures share: UUIDs, domain and
// snapshot references, strings that may be NULL, and remote_error.
import type { DomainRef, SnapshotRef } from './connection.ts';
import { XdrError, xFixedOpaque, xInt, xMap, xOptional, xString, xStruct, type Codec } from './xdr.ts';

/** VIR_UUID_BUFLEN. */
const UUID_BYTES = 16;

/** The canonical form: 36 characters, lower case. */
export function uuidToString(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Accepts the 36-character form or 32 bare hex digits, any case. */
export function uuidToBytes(uuid: string): Buffer {
  const hex = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(uuid) ? uuid.replace(/-/g, '') : uuid;
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new XdrError(`not a UUID: '${uuid}'`);
  return Buffer.from(hex, 'hex');
}

/** remote_uuid: 16 raw bytes on the wire, the canonical string here. */
export const xUuid: Codec<string> = xMap(xFixedOpaque(UUID_BYTES), uuidToString, uuidToBytes);

/** remote_nonnull_string. Lengths are bounded by the message size (16 MiB), not re-checked. */
export const xNonnullString: Codec<string> = xString();
/** remote_string: a string that may be NULL. */
export const xRemoteString: Codec<string | null> = xOptional(xNonnullString);

/** remote_nonnull_domain. */
export const xDomain: Codec<DomainRef> = xStruct({ name: xNonnullString, uuid: xUuid, id: xInt });

/** remote_nonnull_network (only inside remote_error here). */
export const xNetwork = xStruct({ name: xNonnullString, uuid: xUuid });

/** remote_nonnull_domain_snapshot: its name, then its domain. */
export const xSnapshot: Codec<SnapshotRef> = xStruct({ name: xNonnullString, domain: xDomain });

/** remote_error: what a REPLY with status ERROR carries. */
export const xRemoteError = xStruct({
  code: xInt,
  domain: xInt,
  message: xRemoteString,
  level: xInt,
  dom: xOptional(xDomain),
  str1: xRemoteString,
  str2: xRemoteString,
  str3: xRemoteString,
  int1: xInt,
  int2: xInt,
  net: xOptional(xNetwork),
});

export type RemoteError = ReturnType<typeof xRemoteError.decode>;
