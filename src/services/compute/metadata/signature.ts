// How the metadata proxy proves which instance it asks for (Nova's X-Instance-ID-Signature):
// HMAC-SHA256 of the instance id under a secret only the proxy and the service know
// (secrets.json's metadataProxySecret). A guest can reach the service's listener, but it cannot
// sign another instance's id, so it cannot read another instance's data.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const INSTANCE_ID_HEADER = 'x-instance-id';
export const SIGNATURE_HEADER = 'x-instance-id-signature';

export function signInstanceId(secret: string, instanceId: string): string {
  return createHmac('sha256', secret).update(instanceId).digest('hex');
}

/** Constant-time check of a signature the caller sent. */
export function validSignature(secret: string, instanceId: string, signature: string): boolean {
  const expected = Buffer.from(signInstanceId(secret, instanceId));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
