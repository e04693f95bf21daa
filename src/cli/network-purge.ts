// `./nubo down --purge`: after the cloud stopped, remove what its network agent made on this
// host — DHCP namespaces and their dnsmasq, router namespaces, bridges, firewall chains —
// and the dev upstream namespace. A plain `down` keeps them (as Neutron's agents leave theirs
// across a restart) and the next `up` converges from them. The agent does the removing
// (its teardown, which knows everything it makes); it is started against this host's state
// in the database first, since it learns what to look at from its first sync.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InProcessBus } from '../bus/in-process.ts';
import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import { openDatabase } from '../db/database.ts';
import { startNetworkAgent } from '../agents/network/agent.ts';
import { deleteUpstream } from '../agents/network/upstream.ts';
import { serveNetworkAgents } from '../services/network/app/host-state.ts';
import type { NetworkDB } from '../services/network/db/schema.ts';
import { createNetworkContext } from '../services/network/service.ts';

export async function purgeNetworkHost(config: Config, log: Logger): Promise<void> {
  const agentState = join(config.stateDir, 'network');
  // No agent state: no agent ran with this state directory, there is nothing of it to remove
  // (and a mistyped NUBO_STATE_DIR must not get a database made for it).
  if (config.network.agent.enabled && existsSync(agentState)) {
    const database = openDatabase<NetworkDB>(config.databaseUrl);
    const bus = new InProcessBus(log);
    try {
      const network = await createNetworkContext(database.db, database.engine, config, log, bus);
      const stopServing = serveNetworkAgents(network);
      try {
        const agent = await startNetworkAgent({ config, bus, log, stateDir: agentState });
        await agent.teardown();
      } finally {
        stopServing();
      }
    } finally {
      await bus.close();
      await database.close();
    }
  }
  // Also when the upstream is switched off now: one made before is still to be removed.
  await deleteUpstream();
}
