import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cloudsYaml, keystonerc } from '../../../src/cli/credentials-files.ts';
import { loadConfig } from '../../../src/core/config.ts';

const config = loadConfig({ NUBO_STATE_DIR: '/var/lib/nubo', NUBO_PORT: '8080' });
const secrets = { adminPassword: "pa'ss", servicePassword: 'unused', metadataProxySecret: 'unused' };

describe('client credential files (golden)', () => {
  it('writes keystonerc_admin as packstack does, quoting for the shell', () => {
    assert.equal(keystonerc(config, secrets), [
      'unset OS_SERVICE_TOKEN OS_TOKEN OS_CLOUD',
      "export OS_AUTH_URL='http://127.0.0.1:8080/identity/v3'",
      'export OS_USERNAME=admin',
      "export OS_PASSWORD='pa'\\''ss'",
      'export OS_PROJECT_NAME=admin',
      'export OS_USER_DOMAIN_NAME=Default',
      'export OS_PROJECT_DOMAIN_NAME=Default',
      "export OS_REGION_NAME='RegionOne'",
      'export OS_IDENTITY_API_VERSION=3',
      'export OS_COMPUTE_API_VERSION=2.37',
      'export OS_INTERFACE=public',
      '',
    ].join('\n'));
  });
  it('writes a clouds.yaml entry', () => {
    assert.equal(cloudsYaml(config, secrets), [
      'clouds:',
      '  nubo:',
      '    auth:',
      '      auth_url: "http://127.0.0.1:8080/identity/v3"',
      '      username: admin',
      '      password: "pa\'ss"',
      '      project_name: admin',
      '      user_domain_name: Default',
      '      project_domain_name: Default',
      '    region_name: "RegionOne"',
      '    interface: public',
      '    identity_api_version: 3',
      '    compute_api_version: "2.37"',
      '',
    ].join('\n'));
  });
});
