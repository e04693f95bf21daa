// Keystone-style Fernet tokens: a msgpack payload sealed with the repository's primary key and
// opened with any of its keys. Expiry and revocation are the caller's business.
import { fernetDecrypt, fernetEncrypt } from './fernet.ts';
import type { KeyRepository } from './key-repository.ts';
import { decodePayload, encodePayload } from './payload.ts';
import type { TokenPayload } from './payload.ts';

// Real tokens are ~200 chars; anything far longer is rejected before any decoding work.
const MAX_TOKEN_LENGTH = 4096;

export class TokenCodec {
  readonly #repo: KeyRepository;

  constructor(repo: KeyRepository) {
    this.#repo = repo;
  }

  /** Seals the payload with the primary key; the Fernet timestamp is the payload's issuedAt. */
  issue(p: TokenPayload): string {
    const plaintext = encodePayload(p);
    return fernetEncrypt(this.#repo.primary(), plaintext, Math.floor(p.issuedAt / 1000));
  }

  /** The payload, or null if the token is malformed, tampered with or sealed with an unknown key. */
  open(token: string): TokenPayload | null {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return null;
    const plaintext = fernetDecrypt(this.#repo.keys(), token);
    return plaintext === null ? null : decodePayload(plaintext);
  }
}
