// The typed identity client other services use (keystonemiddleware's job): validate a
// user's token and turn it into policy credentials.
import { Unauthorized } from '../core/errors.ts';
import type { Credentials } from '../core/policy.ts';
import type { ServiceClient } from './service-client.ts';

type TokenDoc = {
  token: {
    user: { id: string; name: string; domain: { id: string } };
    project?: { id: string; name: string; domain: { id: string } };
    domain?: { id: string };
    system?: { all: boolean };
    roles?: { id: string; name: string }[];
    expires_at: string;
  };
};

export type CallerIdentity = Credentials & { user_name: string; expires_at: string };

export class IdentityClient {
  private readonly client: ServiceClient;
  constructor(client: ServiceClient) {
    this.client = client;
  }

  /** 401 for a missing, invalid, expired or revoked token. */
  async validate(userToken: string): Promise<CallerIdentity> {
    const res = await this.client.request('GET', '/identity/v3/auth/tokens?nocatalog', { headers: { 'x-subject-token': userToken } });
    if (res.status === 404) throw new Unauthorized('The request you have made requires authentication: the token is invalid, expired or revoked.');
    if (res.status !== 200) throw new Unauthorized(`Token validation failed (identity answered HTTP ${res.status}).`);
    const t = (res.body as TokenDoc).token;
    return {
      user_id: t.user.id, user_name: t.user.name, user_domain_id: t.user.domain.id,
      project_id: t.project?.id ?? null, project_domain_id: t.project?.domain.id ?? null,
      domain_id: t.domain?.id ?? null, system_scope: t.system?.all ? 'all' : null,
      roles: (t.roles ?? []).map((r) => r.name), expires_at: t.expires_at,
    };
  }
}
