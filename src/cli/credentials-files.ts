// keystonerc_admin (packstack's shell exports) and a clouds.yaml entry, from config + secrets.
import type { Config } from '../core/config.ts';
import type { Secrets } from '../cloud.ts';
import { MAX_VERSION } from '../services/compute/api/microversion.ts';

// The CLI speaks compute 2.1 unless told otherwise, and `--nic none|auto` needs 2.37: the
// highest version Nubo serves is the one its credentials files ask for.
const COMPUTE_API_VERSION = MAX_VERSION;

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

export function keystonerc(config: Config, secrets: Secrets): string {
  return [
    'unset OS_SERVICE_TOKEN OS_TOKEN OS_CLOUD',
    `export OS_AUTH_URL=${shellQuote(`${config.publicUrl}/identity/v3`)}`,
    'export OS_USERNAME=admin',
    `export OS_PASSWORD=${shellQuote(secrets.adminPassword)}`,
    'export OS_PROJECT_NAME=admin',
    'export OS_USER_DOMAIN_NAME=Default',
    'export OS_PROJECT_DOMAIN_NAME=Default',
    `export OS_REGION_NAME=${shellQuote(config.region)}`,
    'export OS_IDENTITY_API_VERSION=3',
    `export OS_COMPUTE_API_VERSION=${COMPUTE_API_VERSION}`,
    'export OS_INTERFACE=public',
    '',
  ].join('\n');
}

export function cloudsYaml(config: Config, secrets: Secrets, cloudName = 'nubo'): string {
  const q = (s: string) => JSON.stringify(s); // a JSON string is a valid YAML scalar
  return [
    'clouds:',
    `  ${cloudName}:`,
    '    auth:',
    `      auth_url: ${q(`${config.publicUrl}/identity/v3`)}`,
    '      username: admin',
    `      password: ${q(secrets.adminPassword)}`,
    '      project_name: admin',
    '      user_domain_name: Default',
    '      project_domain_name: Default',
    `    region_name: ${q(config.region)}`,
    '    interface: public',
    '    identity_api_version: 3',
    `    compute_api_version: "${COMPUTE_API_VERSION}"`,
    '',
  ].join('\n');
}
