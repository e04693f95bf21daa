// Password hashing with argon2id (node:crypto), stored in the PHC string format that other
// tools read: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
import { argon2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const argon2Async = promisify(argon2);

export type Argon2Cost = { memoryKiB: number; passes: number };

const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');

export async function hashPassword(password: string, cost: Argon2Cost): Promise<string> {
  const nonce = randomBytes(16);
  const tag = await argon2Async('argon2id', { message: password, nonce, parallelism: 1, tagLength: 32, memory: cost.memoryKiB, passes: cost.passes });
  return `$argon2id$v=19$m=${cost.memoryKiB},t=${cost.passes},p=1$${b64(nonce)}$${b64(tag)}`;
}

const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Verifies against a stored hash; a null or malformed hash verifies nothing but costs the same. */
export async function verifyPassword(password: string, stored: string | null, cost: Argon2Cost): Promise<boolean> {
  const m = stored ? PHC.exec(stored) : null;
  if (!m) {
    // Same work as a real check, so response time does not tell which users exist.
    await hashPassword(password, cost);
    return false;
  }
  const [, mem, passes, par, salt, hash] = m as unknown as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64');
  const tag = await argon2Async('argon2id', {
    message: password, nonce: Buffer.from(salt, 'base64'), parallelism: Number(par),
    tagLength: expected.length, memory: Number(mem), passes: Number(passes),
  });
  return timingSafeEqual(tag, expected);
}
