import { randomUUID } from 'node:crypto';

/** Keystone-style id: 32 lowercase hex characters. */
export function hexId(): string {
  return randomUUID().replaceAll('-', '');
}

/** Request id in the form OpenStack clients print: req-<uuid>. */
export function requestId(): string {
  return `req-${randomUUID()}`;
}
