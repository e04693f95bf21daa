// Request body schemas (JSON Schema via TypeBox). Fastify validates every body against
// these before a handler runs; a mismatch is a 400 in Keystone's error format.
import { Type, type Static, type TSchema } from 'typebox';

const Str = (max = 255) => Type.String({ maxLength: max });
const Name = Type.String({ minLength: 1, maxLength: 255, pattern: '\\S' });
const Ref = Type.Object({ id: Type.Optional(Str(64)), name: Type.Optional(Str()) });
const UserRef = Type.Object({ id: Type.Optional(Str(64)), name: Type.Optional(Str()), domain: Type.Optional(Ref) });

export const AuthBody = Type.Object({
  auth: Type.Object({
    identity: Type.Object({
      methods: Type.Array(Type.String(), { maxItems: 8 }),
      password: Type.Optional(Type.Object({ user: Type.Intersect([UserRef, Type.Object({ password: Type.String({ maxLength: 4096 }) })]) })),
      token: Type.Optional(Type.Object({ id: Type.String({ maxLength: 8192 }) })),
      application_credential: Type.Optional(Type.Object({
        id: Type.Optional(Str(64)), name: Type.Optional(Str()), secret: Type.String({ maxLength: 4096 }), user: Type.Optional(UserRef),
      })),
    }),
    scope: Type.Optional(Type.Object({
      project: Type.Optional(Type.Object({ id: Type.Optional(Str(64)), name: Type.Optional(Str()), domain: Type.Optional(Ref) })),
      domain: Type.Optional(Ref),
      system: Type.Optional(Type.Object({ all: Type.Boolean() })),
    })),
  }),
});
export type AuthRequest = Static<typeof AuthBody>;

const Options = Type.Record(Type.String(), Type.Unknown());
const Tags = Type.Array(Type.String({ minLength: 1, maxLength: 255, pattern: '^[^,/]*$' }), { maxItems: 80 });

export const DomainCreate = Type.Object({
  domain: Type.Object({
    name: Name, description: Type.Optional(Type.Union([Type.Null(), Str(65535)])), enabled: Type.Optional(Type.Boolean()),
    id: Type.Optional(Type.String({ pattern: '^[a-zA-Z0-9_-]{1,64}$' })), tags: Type.Optional(Tags), options: Type.Optional(Options),
  }, { additionalProperties: false }),
});
export const DomainUpdate = Type.Object({
  domain: Type.Object({
    name: Type.Optional(Name), description: Type.Optional(Type.Union([Type.Null(), Str(65535)])), enabled: Type.Optional(Type.Boolean()),
    tags: Type.Optional(Tags), options: Type.Optional(Options),
  }, { additionalProperties: false }),
});

export const ProjectCreate = Type.Object({
  project: Type.Object({
    name: Name, domain_id: Type.Optional(Type.Union([Type.Null(), Str(64)])), parent_id: Type.Optional(Type.Union([Type.Null(), Str(64)])),
    description: Type.Optional(Type.Union([Type.Null(), Str(65535)])), enabled: Type.Optional(Type.Boolean()),
    is_domain: Type.Optional(Type.Literal(false)), tags: Type.Optional(Tags), options: Type.Optional(Options),
  }, { additionalProperties: false }),
});
export const ProjectUpdate = Type.Object({
  project: Type.Object({
    name: Type.Optional(Name), description: Type.Optional(Type.Union([Type.Null(), Str(65535)])), enabled: Type.Optional(Type.Boolean()),
    tags: Type.Optional(Tags), options: Type.Optional(Options),
  }, { additionalProperties: false }),
});

export const UserCreate = Type.Object({
  user: Type.Object({
    name: Name, domain_id: Type.Optional(Type.Union([Type.Null(), Str(64)])), password: Type.Optional(Type.Union([Type.Null(), Type.String({ maxLength: 4096 })])),
    enabled: Type.Optional(Type.Boolean()), default_project_id: Type.Optional(Type.Union([Type.Null(), Str(64)])),
    project_id: Type.Optional(Type.Union([Type.Null(), Str(64)])), // Tempest sends project_id (v2 habit); it means default_project_id
    email: Type.Optional(Type.Union([Type.Null(), Str()])), description: Type.Optional(Type.Union([Type.Null(), Str(65535)])),
    options: Type.Optional(Options),
  }, { additionalProperties: false }),
});
export const UserUpdate = Type.Object({
  user: Type.Object({
    name: Type.Optional(Name), password: Type.Optional(Type.Union([Type.Null(), Type.String({ maxLength: 4096 })])),
    enabled: Type.Optional(Type.Boolean()), default_project_id: Type.Optional(Type.Union([Type.Null(), Str(64)])),
    email: Type.Optional(Type.Union([Type.Null(), Str()])), description: Type.Optional(Type.Union([Type.Null(), Str(65535)])),
    options: Type.Optional(Options),
  }, { additionalProperties: false }),
});
export const PasswordChange = Type.Object({
  user: Type.Object({ password: Type.String({ minLength: 1, maxLength: 4096 }), original_password: Type.String({ maxLength: 4096 }) }, { additionalProperties: false }),
});

export const GroupCreate = Type.Object({
  group: Type.Object({
    name: Name, domain_id: Type.Optional(Str(64)), description: Type.Optional(Type.Union([Type.Null(), Str(65535)])),
  }, { additionalProperties: false }),
});
export const GroupUpdate = Type.Object({
  group: Type.Object({ name: Type.Optional(Name), description: Type.Optional(Type.Union([Type.Null(), Str(65535)])) }, { additionalProperties: false }),
});

export const RoleCreate = Type.Object({
  role: Type.Object({
    name: Name, domain_id: Type.Optional(Type.Union([Type.Null(), Str(64)])), description: Type.Optional(Type.Union([Type.Null(), Str(65535)])),
    options: Type.Optional(Options),
  }, { additionalProperties: false }),
});
export const RoleUpdate = Type.Object({
  role: Type.Object({ name: Type.Optional(Name), description: Type.Optional(Type.Union([Type.Null(), Str(65535)])), options: Type.Optional(Options) }, { additionalProperties: false }),
});

export const AppCredCreate = Type.Object({
  application_credential: Type.Object({
    name: Name, description: Type.Optional(Type.Union([Type.Null(), Str(65535)])),
    secret: Type.Optional(Type.Union([Type.Null(), Type.String({ minLength: 1, maxLength: 4096 })])),
    expires_at: Type.Optional(Type.Union([Type.Null(), Type.String({ maxLength: 40 })])),
    roles: Type.Optional(Type.Array(Ref, { maxItems: 64 })),
    unrestricted: Type.Optional(Type.Boolean()),
    access_rules: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 0 })),
  }, { additionalProperties: false }),
});

const Interface = Type.Union([Type.Literal('public'), Type.Literal('internal'), Type.Literal('admin')]);
export const ServiceCreate = Type.Object({
  service: Type.Object({
    type: Type.String({ minLength: 1, maxLength: 255 }), name: Type.Optional(Str()), description: Type.Optional(Type.Union([Type.Null(), Str(65535)])),
    enabled: Type.Optional(Type.Boolean()),
  }, { additionalProperties: false }),
});
export const ServiceUpdate = Type.Object({
  service: Type.Object({
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })), name: Type.Optional(Str()),
    description: Type.Optional(Type.Union([Type.Null(), Str(65535)])), enabled: Type.Optional(Type.Boolean()),
  }, { additionalProperties: false }),
});
export const EndpointCreate = Type.Object({
  endpoint: Type.Object({
    service_id: Str(64), interface: Interface, url: Type.String({ minLength: 1, maxLength: 2048, pattern: '^https?://' }),
    region_id: Type.Optional(Type.Union([Type.Null(), Str()])), region: Type.Optional(Type.Union([Type.Null(), Str()])),
    enabled: Type.Optional(Type.Boolean()),
  }, { additionalProperties: false }),
});
export const EndpointUpdate = Type.Object({
  endpoint: Type.Object({
    service_id: Type.Optional(Str(64)), interface: Type.Optional(Interface), url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, pattern: '^https?://' })),
    region_id: Type.Optional(Type.Union([Type.Null(), Str()])), region: Type.Optional(Type.Union([Type.Null(), Str()])),
    enabled: Type.Optional(Type.Boolean()),
  }, { additionalProperties: false }),
});
export const RegionCreate = Type.Object({
  region: Type.Object({
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: '^[^/]+$' })), description: Type.Optional(Type.Union([Type.Null(), Str(65535)])),
    parent_region_id: Type.Optional(Type.Union([Type.Null(), Str()])),
  }, { additionalProperties: false }),
});
export const RegionUpdate = Type.Object({
  region: Type.Object({
    description: Type.Optional(Type.Union([Type.Null(), Str(65535)])), parent_region_id: Type.Optional(Type.Union([Type.Null(), Str()])),
  }, { additionalProperties: false }),
});

export type Body<T extends TSchema> = Static<T>;
