// Keypairs (Nova's os-keypairs): SSH public keys (or, type x509, certificates: x509-keypairs.ts)
// owned by a user (not a project), imported or generated here. A generated private key is
// handed back once and never stored.
//
// Keys are read and written in SSH's own wire format (RFC 4253 §6.6: length-prefixed strings
// and mpints), so an imported key is checked the way OpenSSH would read it: the type in the
// text must be the type inside the blob, the blob must hold exactly that key type's fields,
// and the numbers must make a real key. The fingerprint is Nova's: MD5 of the blob, colon hex.
import { createHash, createPublicKey, generateKeyPair as generateKeyPairCallback, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { BadRequest, Conflict, Forbidden, NotFound } from '../../../core/errors.ts';
import { orConflict } from '../../../db/database.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import type { KeypairRow } from '../db/schema.ts';
import { authorize } from './authorize.ts';
import type { ComputeContext } from './context.ts';
import { generateX509Keypair, x509Fingerprint } from './x509-keypairs.ts';

export type Keypair = KeypairRow;
/** Algorithms Nubo generates: RSA 2048 (what Nova generates) and Ed25519. */
export type KeyAlgorithm = 'rsa' | 'ed25519';
export type GeneratedKeypair = { publicKey: string; privateKey: string; fingerprint: string };
export type ParsedPublicKey = { type: string; blob: Buffer; fingerprint: string };

const POLICY = 'os_compute_api:os-keypairs:manage';
/** Nova's keypair type for SSH keys (the 2.2 `type` field says ssh or x509, not the algorithm). */
const KEYPAIR_TYPE_SSH: KeypairType = 'ssh';
/** Far above any real key (an RSA-16384 public key is about 2.8 KB). */
const MAX_PUBLIC_KEY_CHARS = 16384;
const GENERATED_COMMENT = 'Generated-by-Nubo';

const ECDSA_CURVES: Record<string, { jwk: string; size: number }> = {
  nistp256: { jwk: 'P-256', size: 32 },
  nistp384: { jwk: 'P-384', size: 48 },
  nistp521: { jwk: 'P-521', size: 66 },
};
export const PUBLIC_KEY_TYPES = ['ssh-rsa', 'ssh-ed25519', ...Object.keys(ECDSA_CURVES).map((c) => `ecdsa-sha2-${c}`)];

// ---- SSH wire format ----

const uint32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const sshString = (data: Buffer | string): Buffer => {
  const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return Buffer.concat([uint32(b.length), b]);
};
/** An mpint from an unsigned big-endian magnitude: no leading zeros, a 0x00 first when the top bit is set. */
const sshMpint = (magnitude: Buffer): Buffer => {
  let start = 0;
  while (start < magnitude.length && magnitude[start] === 0) start++;
  const m = magnitude.subarray(start);
  return sshString((m[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), m]) : m);
};

/** A field that is not where or what the format says. */
class MalformedKey extends Error {}

class SshReader {
  private readonly buf: Buffer;
  private offset = 0;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  string(): Buffer {
    if (this.offset + 4 > this.buf.length) throw new MalformedKey('the key data ends early');
    const len = this.buf.readUInt32BE(this.offset);
    const start = this.offset + 4;
    if (start + len > this.buf.length) throw new MalformedKey('the key data ends early');
    this.offset = start + len;
    return this.buf.subarray(start, start + len);
  }
  /** A non-negative mpint as its magnitude (leading zeros removed). */
  mpint(): Buffer {
    const b = this.string();
    if (b.length > 0 && (b[0] as number) & 0x80) throw new MalformedKey('a key number is negative');
    let start = 0;
    while (start < b.length && b[start] === 0) start++;
    return b.subarray(start);
  }
  end(): void {
    if (this.offset !== this.buf.length) throw new MalformedKey('the key data has trailing bytes');
  }
}

/** Nova's fingerprint: MD5 of the decoded key blob as colon-separated hex pairs. */
export function md5Fingerprint(blob: Buffer): string {
  return (createHash('md5').update(blob).digest('hex').match(/../g) as string[]).join(':');
}

// ---- generation ----

const generateKeyPairAsync = promisify(generateKeyPairCallback);

/** OpenSSH's own private key format (PROTOCOL.key), unencrypted: what `ssh -i` reads for Ed25519. */
function opensshPrivateKey(keyType: string, publicBlob: Buffer, privateFields: Buffer, comment: string): string {
  const check = randomBytes(4);
  const section = Buffer.concat([check, check, sshString(keyType), privateFields, sshString(comment)]);
  // Padded with 1, 2, 3… to the cipher block size (8 for "none").
  const padding = Buffer.from(Array.from({ length: (8 - (section.length % 8)) % 8 }, (_, i) => i + 1));
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'), sshString('none'), sshString('none'), sshString(''), uint32(1),
    sshString(publicBlob), sshString(Buffer.concat([section, padding])),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) as string[];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/**
 * A new key pair: the public key as an authorized_keys line, the private key in a format
 * `ssh -i` and `ssh-keygen -y` read (PKCS#1 PEM for RSA, as Nova returns; OpenSSH's format for
 * Ed25519), and Nova's fingerprint. Runs off the event loop (RSA generation takes ~100 ms).
 */
export async function generateKeypair(algorithm: KeyAlgorithm, comment = GENERATED_COMMENT): Promise<GeneratedKeypair> {
  if (algorithm === 'rsa') {
    const { publicKey, privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 65537 });
    const jwk = publicKey.export({ format: 'jwk' });
    const blob = Buffer.concat([sshString('ssh-rsa'), sshMpint(Buffer.from(jwk.e as string, 'base64url')), sshMpint(Buffer.from(jwk.n as string, 'base64url'))]);
    return {
      publicKey: `ssh-rsa ${blob.toString('base64')} ${comment}`,
      privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
      fingerprint: md5Fingerprint(blob),
    };
  }
  const { privateKey } = await generateKeyPairAsync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const pub = Buffer.from(jwk.x as string, 'base64url');
  const seed = Buffer.from(jwk.d as string, 'base64url');
  const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  // OpenSSH keeps the 32-byte seed followed by the public key as the "private key".
  const fields = Buffer.concat([sshString(pub), sshString(Buffer.concat([seed, pub]))]);
  return {
    publicKey: `ssh-ed25519 ${blob.toString('base64')} ${comment}`,
    privateKey: opensshPrivateKey('ssh-ed25519', blob, fields, comment),
    fingerprint: md5Fingerprint(blob),
  };
}

// ---- import ----

const invalidKey = (why: string) => new BadRequest(`Keypair data is invalid: failed to generate fingerprint (${why}).`);

/** Checks the fields of a blob of the given type; throws MalformedKey with the reason. */
function checkBlob(type: string, blob: Buffer): void {
  const r = new SshReader(blob);
  const inner = r.string().toString('latin1');
  if (inner !== type) throw new MalformedKey(`the key data is of type '${inner}', not ${type}`);
  const load = (jwk: Record<string, string>) => {
    try {
      createPublicKey({ key: jwk, format: 'jwk' });
    } catch {
      throw new MalformedKey(`the numbers do not make a valid ${type} key`);
    }
  };
  if (type === 'ssh-rsa') {
    const e = r.mpint();
    const n = r.mpint();
    r.end();
    const bits = n.length * 8 - Math.clz32(n[0] ?? 0) + 24;
    if (bits < 1024 || bits > 16384) throw new MalformedKey(`an RSA modulus of ${n.length === 0 ? 0 : bits} bits is outside 1024–16384`);
    if (e.length === 0 || ((e.at(-1) as number) & 1) === 0 || (e.length === 1 && (e[0] as number) < 3)) throw new MalformedKey('the RSA exponent is not an odd number ≥ 3');
    load({ kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') });
  } else if (type === 'ssh-ed25519') {
    const key = r.string();
    r.end();
    if (key.length !== 32) throw new MalformedKey(`an Ed25519 key has 32 bytes, not ${key.length}`);
    load({ kty: 'OKP', crv: 'Ed25519', x: key.toString('base64url') });
  } else {
    const curveName = type.slice('ecdsa-sha2-'.length);
    const curve = ECDSA_CURVES[curveName] as { jwk: string; size: number };
    const inCurve = r.string().toString('latin1');
    if (inCurve !== curveName) throw new MalformedKey(`the key data names curve '${inCurve}', not ${curveName}`);
    const q = r.string();
    r.end();
    if (q.length !== 1 + 2 * curve.size || q[0] !== 4) throw new MalformedKey(`the point is not an uncompressed ${curveName} point`);
    load({ kty: 'EC', crv: curve.jwk, x: q.subarray(1, 1 + curve.size).toString('base64url'), y: q.subarray(1 + curve.size).toString('base64url') });
  }
}

/** Reads an OpenSSH public key line (`<type> <base64> [comment]`); 400 in Nova's words when it is not one. */
export function parsePublicKey(text: string): ParsedPublicKey {
  if (text.length > MAX_PUBLIC_KEY_CHARS) throw invalidKey(`the key is longer than ${MAX_PUBLIC_KEY_CHARS} characters`);
  const [type = '', data = ''] = text.trim().split(/\s+/);
  if (!data) throw invalidKey('expected an OpenSSH public key: "<type> <base64 data> [comment]"');
  if (!PUBLIC_KEY_TYPES.includes(type)) throw invalidKey(`unsupported key type '${type}'; use one of ${PUBLIC_KEY_TYPES.join(', ')}`);
  if (data.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(data)) throw invalidKey('the key data is not base64');
  const blob = Buffer.from(data, 'base64');
  try {
    checkBlob(type, blob);
  } catch (e) {
    if (e instanceof MalformedKey) throw invalidKey(e.message);
    throw e;
  }
  return { type, blob, fingerprint: md5Fingerprint(blob) };
}

// ---- records ----

export const keypairNotFound = (name: string, userId: string) => new NotFound(`Keypair ${name} not found for user ${userId}`);

/**
 * Nova's name rules for new keypairs at 2.1: no leading or trailing whitespace (its schema's
 * parameter_types.name), then compute/api.py's letters, digits, space, '_' and '-'; 1–255.
 */
export function checkKeypairName(name: string): void {
  if (/^\s|\s$/.test(name)) throw new BadRequest('Invalid input for field/attribute name: keypair names have no leading or trailing whitespace.');
  if (!/^[A-Za-z0-9_ -]*$/.test(name)) throw new BadRequest('Keypair data is invalid: Keypair name contains unsafe characters');
  if (name.length < 1 || name.length > 255) throw new BadRequest('Keypair data is invalid: Keypair name must be string and between 1 and 255 characters long');
}

/** The key_pairs limit for the caller's project: its override, else the configured default (-1: none). */
async function keypairLimit(ctx: ComputeContext, projectId: string): Promise<number> {
  const override = await ctx.db.selectFrom('compute_quota').select('hard_limit')
    .where('project_id', '=', projectId).where('resource', '=', 'key_pairs').executeTakeFirst();
  return override?.hard_limit ?? ctx.config.compute.quota.key_pairs;
}

async function countKeypairs(db: ComputeContext['db'], userId: string): Promise<number> {
  const row = await db.selectFrom('keypair').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow();
  return Number(row.n);
}

const overQuota = () => new Forbidden('Quota exceeded, too many key pairs.');

/** Nova's integer keypair id, from one atomic upsert on both engines. */
async function nextKeypairId(db: ComputeContext['db']): Promise<number> {
  const row = await db.insertInto('compute_counter').values({ name: 'keypair_id', value: 1 })
    .onConflict((oc) => oc.column('name').doUpdateSet((eb) => ({ value: eb('compute_counter.value', '+', 1) })))
    .returning('value').executeTakeFirstOrThrow();
  return Number(row.value);
}

export type KeypairType = 'ssh' | 'x509';
export type NewKeypair = {
  name: string;
  /** An OpenSSH public key line (ssh) or a PEM certificate (x509); generated when absent. */
  publicKey?: string;
  type?: KeypairType;
  /** Whose keypair (2.10): the caller's unless an admin names another user. */
  userId?: string;
};

/**
 * Imports `publicKey`, or generates a key pair (of `algorithm` for ssh) when it is absent (then
 * the private key is returned, once). Order of checks as in Nova: name, quota, key, duplicate.
 */
export async function createKeypair(ctx: ComputeContext, caller: ProjectCaller, input: NewKeypair, algorithm: KeyAlgorithm = 'rsa'): Promise<{ keypair: Keypair; privateKey?: string }> {
  const userId = input.userId ?? caller.user_id;
  const type = input.type ?? KEYPAIR_TYPE_SSH;
  authorize(ctx, caller, POLICY, { user_id: userId });
  checkKeypairName(input.name);
  const limit = await keypairLimit(ctx, caller.project_id);
  if (limit >= 0 && (await countKeypairs(ctx.db, userId)) >= limit) throw overQuota();

  let publicKey: string;
  let fingerprint: string;
  let privateKey: string | undefined;
  if (input.publicKey !== undefined) {
    fingerprint = type === 'x509' ? x509Fingerprint(input.publicKey) : parsePublicKey(input.publicKey).fingerprint;
    publicKey = input.publicKey;
  } else {
    ({ publicKey, privateKey, fingerprint } = type === 'x509' ? await generateX509Keypair(userId) : await generateKeypair(algorithm));
  }

  const row: Keypair = {
    user_id: userId, name: input.name, fingerprint, public_key: publicKey, type,
    created_at: new Date().toISOString(), id: await nextKeypairId(ctx.db),
  };
  // The count is taken again with the insert, so two creates racing for the last slot cannot both win.
  await orConflict(ctx.db.transaction().execute(async (tx) => {
    if (limit >= 0 && (await countKeypairs(tx, userId)) >= limit) throw overQuota();
    await tx.insertInto('keypair').values(row).execute();
  }), () => new Conflict(`Key pair '${input.name}' already exists.`));
  return privateKey === undefined ? { keypair: row } : { keypair: row, privateKey };
}

/**
 * A user's keypairs in name order (the caller's, or with 2.10 another's for an admin); with
 * 2.35 a page of them: at most `limit`, after the one named `marker` (400 when it is not there).
 */
export async function listKeypairs(ctx: ComputeContext, caller: ProjectCaller, opts: { userId?: string; limit?: number; marker?: string } = {}): Promise<Keypair[]> {
  const userId = opts.userId ?? caller.user_id;
  authorize(ctx, caller, POLICY, { user_id: userId });
  let q = ctx.db.selectFrom('keypair').selectAll().where('user_id', '=', userId).orderBy('name');
  if (opts.marker !== undefined) {
    const marker = await ctx.db.selectFrom('keypair').select('name').where('user_id', '=', userId).where('name', '=', opts.marker).executeTakeFirst();
    if (!marker) throw new BadRequest(`Marker ${opts.marker} could not be found.`);
    q = q.where('name', '>', marker.name);
  }
  if (opts.limit !== undefined) q = q.limit(opts.limit);
  return q.execute();
}

export async function getKeypair(ctx: ComputeContext, caller: ProjectCaller, name: string, userId = caller.user_id): Promise<Keypair> {
  authorize(ctx, caller, POLICY, { user_id: userId });
  const row = await ctx.db.selectFrom('keypair').selectAll().where('user_id', '=', userId).where('name', '=', name).executeTakeFirst();
  if (!row) throw keypairNotFound(name, userId);
  return row;
}

export async function deleteKeypair(ctx: ComputeContext, caller: ProjectCaller, name: string, userId = caller.user_id): Promise<void> {
  authorize(ctx, caller, POLICY, { user_id: userId });
  const res = await ctx.db.deleteFrom('keypair').where('user_id', '=', userId).where('name', '=', name).executeTakeFirst();
  if (Number(res.numDeletedRows) === 0) throw keypairNotFound(name, userId);
}

/** The user's keypair named at boot (`key_name`); Nova's 400 when there is none. */
export async function getKeypairForBoot(ctx: ComputeContext, userId: string, name: string): Promise<Keypair> {
  const row = await ctx.db.selectFrom('keypair').selectAll().where('user_id', '=', userId).where('name', '=', name).executeTakeFirst();
  if (!row) throw new BadRequest('Invalid key_name provided.');
  return row;
}
