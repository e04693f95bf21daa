// Nova keypair shapes, exactly the keys of Tempest's strict schemas
// (tempest/lib/api_schema/response/compute/v2_1/keypairs.py, v2_2/keypairs.py): from 2.2
// every shape also says the keypair's type (ssh or x509).
import type { Keypair } from '../../app/keypairs.ts';
import { novaTime } from '../../../../core/time.ts';

/** Nova prints naive UTC datetimes with microseconds and no zone: 2026-01-02T03:04:05.000000. */
const typed = (minor: number, k: Keypair): Record<string, string> => (minor >= 2 ? { type: k.type } : {});

export function keypairCreatedView(minor: number, k: Keypair, privateKey?: string) {
  const view: Record<string, string> = { name: k.name, public_key: k.public_key, fingerprint: k.fingerprint, user_id: k.user_id, ...typed(minor, k) };
  if (privateKey !== undefined) view.private_key = privateKey;
  return { keypair: view };
}

export function keypairListView(minor: number, keypairs: Keypair[]) {
  return { keypairs: keypairs.map((k) => ({ keypair: { name: k.name, public_key: k.public_key, fingerprint: k.fingerprint, ...typed(minor, k) } })) };
}

export function keypairShowView(minor: number, k: Keypair) {
  return {
    keypair: {
      name: k.name, public_key: k.public_key, fingerprint: k.fingerprint, user_id: k.user_id, id: k.id,
      created_at: novaTime(k.created_at), updated_at: null, deleted: false, deleted_at: null, ...typed(minor, k),
    },
  };
}
