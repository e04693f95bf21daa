// Nova 2.1 keypair shapes, exactly the keys of Tempest's strict schemas
// (tempest/lib/api_schema/response/compute/v2_1/keypairs.py).
import type { Keypair } from '../../app/keypairs.ts';

/** Nova prints naive UTC datetimes with microseconds and no zone: 2026-01-02T03:04:05.000000. */
const novaTime = (iso: string) => new Date(iso).toISOString().replace(/\.(\d{3})Z$/, '.$1000');

export function keypairCreatedView(k: Keypair, privateKey?: string) {
  const view: Record<string, string> = { name: k.name, public_key: k.public_key, fingerprint: k.fingerprint, user_id: k.user_id };
  if (privateKey !== undefined) view.private_key = privateKey;
  return { keypair: view };
}

export function keypairListView(keypairs: Keypair[]) {
  return { keypairs: keypairs.map((k) => ({ keypair: { name: k.name, public_key: k.public_key, fingerprint: k.fingerprint } })) };
}

export function keypairShowView(k: Keypair) {
  return {
    keypair: {
      name: k.name, public_key: k.public_key, fingerprint: k.fingerprint, user_id: k.user_id, id: k.id,
      created_at: novaTime(k.created_at), updated_at: null, deleted: false, deleted_at: null,
    },
  };
}
