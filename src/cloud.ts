// The all-in-one cloud: one process, one listener, every service mounted under its prefix.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { sql, type Kysely } from 'kysely';
import { InProcessBus } from './bus/in-process.ts';
import type { Bus } from './bus/bus.ts';
import type { Config } from './core/config.ts';
import type { Logger } from './core/logger.ts';
import { openDatabase } from './db/database.ts';
import { buildServer } from './http/server.ts';
import { bootstrapIdentity, type BootstrapResult } from './services/identity/app/bootstrap.ts';
import type { IdentityContext } from './services/identity/app/context.ts';
import type { IdentityDB } from './services/identity/db/schema.ts';
import { createIdentityContext, identityService } from './services/identity/service.ts';
import type { ImageContext } from './services/image/app/context.ts';
import type { ImageDB } from './services/image/db/schema.ts';
import { createImageContext, imageService } from './services/image/service.ts';
import type { ComputeContext } from './services/compute/app/context.ts';
import type { ComputeDB } from './services/compute/db/schema.ts';
import { computeService, createComputeContext } from './services/compute/service.ts';
import { metadataService } from './services/compute/metadata/service.ts';
import type { PlacementContext } from './services/placement/app/context.ts';
import type { PlacementDB } from './services/placement/db/schema.ts';
import { createPlacementContext, placementService } from './services/placement/service.ts';
import type { NetworkContext } from './services/network/app/context.ts';
import type { NetworkDB } from './services/network/db/schema.ts';
import { createNetworkContext, networkService } from './services/network/service.ts';
import { IdentityClient } from './http/identity-client.ts';
import { ImageClient } from './http/image-client.ts';
import { ImageDataClient } from './http/image-data-client.ts';
import { startComputeAgent, type ComputeAgent } from './agents/compute/agent.ts';
import { startMetadataAgent, type MetadataAgent } from './agents/network/metadata/agent.ts';
import { metadataSocket } from './agents/network/metadata/paths.ts';
import { injectUpstream } from './agents/network/metadata/upstream.ts';
import { startNetworkAgent, type NetworkAgent } from './agents/network/agent.ts';
import { DEFAULT_UPSTREAM_CIDR, ensureUpstream } from './agents/network/upstream.ts';
import { bootstrapNetworksOnce } from './services/network/app/bootstrap.ts';
import { serveNetworkAgents } from './services/network/app/host-state.ts';
import { ImageCache } from './agents/compute/image-cache.ts';
import { createDriver } from './agents/compute/virt/create-driver.ts';
import { serveConductor } from './services/compute/app/conductor.ts';
import { recoverCompute } from './services/compute/app/recovery.ts';
import { InjectTransport, ServiceClient, ServiceTokenSource, type Transport, type TransportRequest } from './http/service-client.ts';

export type Secrets = {
  adminPassword: string;
  servicePassword: string;
  /** Signs the instance ids the metadata agent asks the metadata service about (Nova's metadata_proxy_shared_secret). */
  metadataProxySecret: string;
};

/** Generated once, kept in <stateDir>/secrets.json with mode 0600. */
export function loadOrCreateSecrets(stateDir: string): Secrets {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, 'secrets.json');
  const secret = () => randomBytes(18).toString('base64url');
  if (existsSync(path)) {
    const secrets = JSON.parse(readFileSync(path, 'utf8')) as Partial<Secrets> & Pick<Secrets, 'adminPassword' | 'servicePassword'>;
    if (secrets.metadataProxySecret) return secrets as Secrets;
    // A state directory from before the metadata service: add its secret, keep the rest.
    const upgraded: Secrets = { ...secrets, metadataProxySecret: randomBytes(32).toString('base64url') };
    writeFileSync(`${path}.tmp`, `${JSON.stringify(upgraded, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
    return upgraded;
  }
  const secrets: Secrets = { adminPassword: secret(), servicePassword: secret(), metadataProxySecret: randomBytes(32).toString('base64url') };
  writeFileSync(path, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return secrets;
}

export type Cloud = {
  app: FastifyInstance;
  bus: Bus;
  identity: IdentityContext;
  bootstrap: BootstrapResult;
  images: ImageContext;
  compute: ComputeContext;
  /** The compute agent of this host (null when compute.driver says none runs here). */
  computeAgent: ComputeAgent | null;
  /** The network agent of this host (null when network.agent.enabled is false, or until it could start). */
  networkAgent: NetworkAgent | null;
  /** Placement's app context: the scheduler calls placement/app/ with it in-process. */
  placement: PlacementContext;
  /** The network service's app context: compute calls network/app/compute-api.ts with it in-process. */
  network: NetworkContext;
  /** This host's metadata agent: the namespace proxies forward guests' requests to its socket. */
  metadataAgent: MetadataAgent;
  secrets: Secrets;
  close(): Promise<void>;
};

/** The compute agent of this host, with the configured driver and an image cache fed over HTTP. */
async function startLocalAgent(config: Config, bus: Bus, log: Logger, tokens: ServiceTokenSource): Promise<ComputeAgent | null> {
  const driver = createDriver(config, log);
  const images = new ImageCache({ instancesDir: config.compute.instancesDir, source: new ImageDataClient(config.publicUrl, tokens), log });
  return startComputeAgent({ config, bus, driver, images, log });
}

export async function createCloud(config: Config, log: Logger): Promise<Cloud> {
  const secrets = loadOrCreateSecrets(config.stateDir);
  const database = openDatabase<IdentityDB>(config.databaseUrl);
  const bus = new InProcessBus(log);
  try {
    const identity = await createIdentityContext(database.db, config, log);
    const bootstrap = await bootstrapIdentity(identity, secrets);
    // One connection pool; each service's code sees only its own tables (hence the cast).
    // Services reach each other through the one listener, in-process (no sockets): the
    // transport is bound once the server exists.
    const bound: { server?: FastifyInstance } = {};
    const inProcess: Transport = { request: (req: TransportRequest) => new InjectTransport(bound.server as FastifyInstance).request(req) };
    const serviceClient = new ServiceClient(inProcess, new ServiceTokenSource(inProcess, {
      username: 'nubo', password: secrets.servicePassword, project: 'service', domain: 'default',
    }));
    const images = await createImageContext(database.db as unknown as Kysely<ImageDB>, config, log);
    const identityClient = new IdentityClient(serviceClient);
    const image = imageService(images, identityClient);
    const placement = await createPlacementContext(database.db as unknown as Kysely<PlacementDB>, database.engine, config, log);
    const network = await createNetworkContext(database.db as unknown as Kysely<NetworkDB>, database.engine, config, log, bus);
    // A development cloud starts with networks (public, private, router1), made once per database.
    if (config.network.bootstrap.enabled) {
      const made = await bootstrapNetworksOnce(network, bootstrap.adminProjectId);
      if (made) log.info({ created: made.created }, 'the starting networks were made');
    }
    const compute = await createComputeContext(database.db as unknown as Kysely<ComputeDB>, config, log, bus, { images: new ImageClient(inProcess, serviceClient), placement, network });
    const app = await buildServer({
      logger: log,
      services: [identityService(identity), image, placementService(placement, identityClient), computeService(compute, identityClient),
        networkService(network, identityClient), metadataService({ compute, network, secret: secrets.metadataProxySecret })],
      health: async () => {
        await sql`select 1`.execute(database.db);
        return { database: database.engine };
      },
    });
    bound.server = app;
    const metadataAgent = await startMetadataAgent({
      socketPath: metadataSocket(config.stateDir), network, secret: secrets.metadataProxySecret, upstream: injectUpstream(app), log,
    });
    // All-in-one: this process is also the compute host. The conductor serves first so the
    // agent's first heartbeat registers the host; interrupted sagas resume once both run.
    const stopConductor = serveConductor(compute);
    const agentTokens = new ServiceTokenSource(inProcess, { username: 'nubo', password: secrets.servicePassword, project: 'service', domain: 'default' });
    // A hypervisor that is not there yet (libvirtd down) must not take the APIs down with it:
    // the agent is retried until it starts; meanwhile this host is simply not a compute host.
    let agentRetry: NodeJS.Timeout | undefined;
    const startAgent = async (): Promise<void> => {
      if (config.compute.driver === 'none') return;
      try {
        cloud.computeAgent = await startLocalAgent(config, bus, log, agentTokens);
      } catch (e) {
        log.error({ err: e }, 'the compute agent could not start; retrying in 30 s');
        agentRetry = setTimeout(() => void startAgent(), 30_000);
      }
    };
    // The network agent of this host: without root or its tools it is retried, the APIs stay up.
    const stopNetworkAgents = serveNetworkAgents(network);
    let networkAgentRetry: NodeJS.Timeout | undefined;
    const startNetAgent = async (): Promise<void> => {
      if (!config.network.agent.enabled) return;
      try {
        // The dev upstream first, so the agent's first sync finds the public network's interface.
        if (config.network.upstream.enabled) await ensureUpstream({ cidr: DEFAULT_UPSTREAM_CIDR, mtu: config.network.globalMtu });
        cloud.networkAgent = await startNetworkAgent({ config, bus, log, stateDir: join(config.stateDir, 'network') });
      } catch (e) {
        log.error({ err: e }, 'the network agent could not start; retrying in 30 s');
        networkAgentRetry = setTimeout(() => void startNetAgent(), 30_000);
      }
    };
    const cloud: Cloud = {
      app, bus, identity, bootstrap, images, placement, network, compute, computeAgent: null, networkAgent: null, metadataAgent, secrets,
      async close() {
        clearTimeout(agentRetry);
        clearTimeout(networkAgentRetry);
        await metadataAgent.stop();
        await Promise.allSettled([...compute.background]);
        await cloud.computeAgent?.stop();
        await cloud.networkAgent?.stop();
        stopNetworkAgents();
        stopConductor();
        compute.vifEvents.close();
        await app.close();
        await image.close();
        await bus.close();
        await database.close();
      },
    };
    await startAgent();
    await startNetAgent();
    await recoverCompute(compute);
    return cloud;
  } catch (e) {
    await bus.close();
    await database.close();
    throw e;
  }
}
