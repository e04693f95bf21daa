// x509 keypairs (Nova's keypair type "x509", microversion 2.2): certificates for password-less
// WinRM logins on Windows guests. Imported ones are PEM certificates; generated ones are what
// Nova's crypto.generate_winrm_x509_cert makes with openssl: a self-signed RSA-2048 certificate
// for CN=<user> with the client-auth usage and the user's UPN, its private key handed back once
// as a base64 PKCS#12 bundle with an empty password. The fingerprint is the certificate's SHA-1.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadRequest } from '../../../core/errors.ts';
import { run } from '../../../host/run.ts';

/** Nova's generate_x509_fingerprint: SHA-1 of the DER certificate, lower-case colon hex. */
export function x509Fingerprint(pem: string): string {
  try {
    return new X509Certificate(pem).fingerprint.toLowerCase();
  } catch (e) {
    throw new BadRequest(`Keypair data is invalid: failed to generate X509 fingerprint. Error message: ${(e as Error).message}`);
  }
}

export async function generateX509Keypair(userId: string): Promise<{ publicKey: string; privateKey: string; fingerprint: string }> {
  // The id goes into openssl's -subj and -addext syntaxes, where '/', ',', '=' and more have meaning.
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(userId)) throw new BadRequest(`Keypair data is invalid: cannot make a certificate for user id '${userId}'.`);
  const dir = await mkdtemp(join(tmpdir(), 'nubo-x509-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    const bundle = join(dir, 'bundle.p12');
    await run(['openssl', 'req', '-x509', '-nodes', '-days', '3650', '-newkey', 'rsa:2048', '-keyout', key, '-out', cert,
      '-subj', `/CN=${userId}`, '-addext', 'extendedKeyUsage=clientAuth',
      '-addext', `subjectAltName=otherName:1.3.6.1.4.1.311.20.2.3;UTF8:${userId}@localhost`]);
    await run(['openssl', 'pkcs12', '-export', '-inkey', key, '-in', cert, '-passout', 'pass:', '-out', bundle]);
    const publicKey = await readFile(cert, 'utf8');
    return { publicKey, privateKey: (await readFile(bundle)).toString('base64'), fingerprint: x509Fingerprint(publicKey) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
