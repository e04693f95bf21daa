// Settings: built-in defaults, then the config file (JSON), then environment variables.
// The config file is $NUBO_CONFIG, else <stateDir>/nubo.json when it exists.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export type Config = {
  stateDir: string;
  listen: { host: string; port: number };
  /** Base URL advertised in the catalog and version documents. */
  publicUrl: string;
  /** sqlite:<path> (default) or postgres://… */
  databaseUrl: string;
  region: string;
  logLevel: string;
  identity: {
    tokenExpirationSeconds: number;
    maxActiveKeys: number;
    /** argon2id cost: memory in KiB and passes (OWASP's second recommended profile). */
    argon2: { memoryKiB: number; passes: number };
    /** Path to a JSON file of policy overrides (action -> oslo.policy check string). */
    policyFile: string | null;
  };
  image: {
    /** The file store's directory (images/<id>); staging area beside it (images/staging). */
    storeDir: string;
    /** Largest image accepted, in bytes (Glance's image_size_cap). */
    sizeCap: number;
    /** Quotas every project gets (image count, stored bytes, staged bytes); -1 is unlimited. */
    quota: { imageCount: number; totalBytes: number; stageBytes: number };
    /** qemu-img limits for inspecting untrusted uploads. */
    inspect: { timeoutSeconds: number; memoryBytes: number };
    policyFile: string | null;
  };
};

export const DEFAULT_STATE_DIR = '/var/lib/nubo';
export const DEFAULT_PORT = 8080;

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const stateDir = resolve(env.NUBO_STATE_DIR ?? DEFAULT_STATE_DIR);
  const filePath = env.NUBO_CONFIG ?? join(stateDir, 'nubo.json');
  const file = existsSync(filePath) ? parseConfigFile(filePath) : {};

  const host = env.NUBO_LISTEN ?? file.listen?.host ?? '127.0.0.1';
  const port = intSetting('NUBO_PORT', env.NUBO_PORT) ?? file.listen?.port ?? DEFAULT_PORT;
  const cfg: Config = {
    stateDir,
    listen: { host, port },
    publicUrl: env.NUBO_PUBLIC_URL ?? file.publicUrl ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    databaseUrl: env.NUBO_DATABASE_URL ?? file.databaseUrl ?? `sqlite:${join(stateDir, 'nubo.db')}`,
    region: file.region ?? 'RegionOne',
    logLevel: env.NUBO_LOG_LEVEL ?? file.logLevel ?? 'info',
    identity: {
      tokenExpirationSeconds: file.identity?.tokenExpirationSeconds ?? 3600,
      maxActiveKeys: file.identity?.maxActiveKeys ?? 3,
      argon2: { memoryKiB: 19456, passes: 2, ...file.identity?.argon2 },
      policyFile: file.identity?.policyFile ?? null,
    },
    image: {
      storeDir: resolve(stateDir, file.image?.storeDir ?? 'images'),
      sizeCap: file.image?.sizeCap ?? 1024 ** 4,
      quota: { imageCount: -1, totalBytes: -1, stageBytes: -1, ...file.image?.quota },
      inspect: { timeoutSeconds: 30, memoryBytes: 1024 ** 3, ...file.image?.inspect },
      policyFile: file.image?.policyFile ?? null,
    },
  };
  cfg.publicUrl = cfg.publicUrl.replace(/\/+$/, '');
  return cfg;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

function parseConfigFile(path: string): DeepPartial<Config> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`config file ${path} must hold a JSON object`);
  }
  return parsed;
}

function intSetting(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number, got '${value}'`);
  return n;
}
