#!/usr/bin/env node
// The nubo command. `./nubo` (bash) installs what is missing, then runs this.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { createCloud, loadOrCreateSecrets } from '../cloud.ts';
import { loadConfig, type Config } from '../core/config.ts';
import { createLogger } from '../core/logger.ts';
import { spawnDetached } from '../host/run.ts';
import { fernetKeyDir } from '../services/identity/service.ts';
import { KeyRepository } from '../services/identity/tokens/key-repository.ts';
import { cloudsYaml, keystonerc } from './credentials-files.ts';
import { addImageCommands } from './image.ts';
import { addSchedulerCommands } from './scheduler.ts';
import { ensureTinyImage } from '../images/tiny.ts';
import { GUEST_IMAGE_NAME, publishGuestImage } from './publish-guest-image.ts';
import { UPSTREAM_NAMESPACE } from '../agents/network/names.ts';
import { DEFAULT_UPSTREAM_CIDR } from '../agents/network/upstream.ts';
import { PRIVATE_CIDR, PRIVATE_NETWORK, PUBLIC_CIDR, PUBLIC_NETWORK, ROUTER_NAME } from '../services/network/app/bootstrap.ts';
import { purgeNetworkHost } from './network-purge.ts';
import { healthy, logFile, pidFile, runningPid, waitFor } from './daemon.ts';

const program = new Command('nubo').description('Nubo: an OpenStack-compatible cloud on one machine').showHelpAfterError();

function writeClientFiles(config: Config): void {
  const secrets = loadOrCreateSecrets(config.stateDir);
  writeFileSync(join(config.stateDir, 'keystonerc_admin'), keystonerc(config, secrets), { mode: 0o600 });
  writeFileSync(join(config.stateDir, 'clouds.yaml'), cloudsYaml(config, secrets), { mode: 0o600 });
}

/** Builds (or finds cached) Nubo's guest image and makes sure the cloud offers it as nubo-tiny. */
async function offerGuestImage(config: Config): Promise<string> {
  const built = await ensureTinyImage({ log: (line) => console.error(`nubo image: ${line}`) });
  const { id, uploaded } = await publishGuestImage(config, loadOrCreateSecrets(config.stateDir), built.path);
  return `${GUEST_IMAGE_NAME} (${id}${uploaded ? ', uploaded now' : ''})`;
}

/** The starting networks and the way to floating IPs, as far as this host's config makes them. */
function networkLines(config: Config): string[] {
  const lines: string[] = [];
  if (config.network.bootstrap.enabled) {
    lines.push(`  networks:   ${PUBLIC_NETWORK} (external, ${PUBLIC_CIDR}, floating IPs), ${PRIVATE_NETWORK} (${PRIVATE_CIDR}, admin project) behind ${ROUTER_NAME}`);
  }
  if (config.network.upstream.enabled && config.network.agent.enabled) {
    lines.push(`  outside:    the ${UPSTREAM_NAMESPACE} namespace (${DEFAULT_UPSTREAM_CIDR}) reaches floating IPs: ip netns exec ${UPSTREAM_NAMESPACE} ssh <user>@<floating ip>`);
  }
  return lines;
}

function printWelcome(config: Config, guestImage?: string): void {
  const secrets = loadOrCreateSecrets(config.stateDir);
  process.stdout.write([
    `Nubo is running at ${config.publicUrl}`,
    `  APIs:       ${config.publicUrl}/<service>: identity, image, compute, placement, networking (the dashboard will be at ${config.publicUrl}/)`,
    `  auth URL:   ${config.publicUrl}/identity/v3`,
    `  admin user: admin`,
    ...networkLines(config),
    ...(guestImage ? [`  image:      ${guestImage}, public: openstack --os-cloud nubo server create --flavor m1.tiny --image ${GUEST_IMAGE_NAME} ${config.network.bootstrap.enabled ? `--network ${PRIVATE_NETWORK}` : '--nic none'} --wait vm1`] : []),
    `  password:   ${secrets.adminPassword}   (kept in ${join(config.stateDir, 'secrets.json')}, mode 0600)`,
    '',
    `Shell:  eval "$(./nubo openrc)"; openstack token issue      (also ${join(config.stateDir, 'keystonerc_admin')})`,
    `clouds.yaml entry (also ${join(config.stateDir, 'clouds.yaml')}; use with --os-cloud nubo):`,
    '',
    cloudsYaml(config, secrets),
  ].join('\n'));
}

async function serve(config: Config): Promise<void> {
  const log = createLogger(config.logLevel);
  const cloud = await createCloud(config, log);
  await cloud.app.listen({ host: config.listen.host, port: config.listen.port });
  writeFileSync(pidFile(config), `${process.pid}\n`, { mode: 0o600 });
  log.info({ url: config.publicUrl, database: config.databaseUrl.split(':')[0] }, 'nubo is serving');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    rmSync(pidFile(config), { force: true });
    await cloud.close();
    process.exit(0);
  };
  for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, (sig) => void stop(sig));
}

program.command('serve').description('run the all-in-one cloud in the foreground (what `up` starts in the background)')
  .action(async () => {
    const config = loadConfig();
    if (runningPid(config)) throw new Error(`nubo already runs (PID ${runningPid(config)}); see ./nubo status`);
    await serve(config);
  });

program.command('up').description('start the all-in-one cloud (in the background unless --foreground) and print how to use it')
  .option('--foreground', 'stay in the foreground')
  .action(async (opts: { foreground?: boolean }) => {
    const config = loadConfig();
    mkdirSync(join(config.stateDir, 'log'), { recursive: true, mode: 0o700 });
    writeClientFiles(config);
    if (runningPid(config) !== null) {
      if (!(await waitFor(() => healthy(config), 30_000))) throw new Error(`nubo runs (PID ${runningPid(config)}) but is not healthy; see ${logFile(config)}`);
      printWelcome(config, await offerGuestImage(config));
      return;
    }
    if (opts.foreground) {
      await serve(config);
      printWelcome(config, await offerGuestImage(config));
      return;
    }
    const main = fileURLToPath(import.meta.url);
    const pid = spawnDetached([process.execPath, main, 'serve'], logFile(config));
    const up = await waitFor(async () => runningPid(config) === pid && (await healthy(config)), 90_000);
    if (!up) throw new Error(`nubo did not become healthy; see ${logFile(config)}`);
    printWelcome(config, await offerGuestImage(config));
  });

program.command('down').description('stop the cloud started by `up`')
  .option('--purge', 'also remove what the network agent made on this host (namespaces, dnsmasq, bridges, nubo chains, the nubo-upstream namespace)')
  .action(async (opts: { purge?: boolean }) => {
    const config = loadConfig();
    const pid = runningPid(config);
    if (pid === null) {
      console.log('nubo is not running');
    } else {
      process.kill(pid, 'SIGTERM');
      const gone = await waitFor(() => runningPid(config) === null, 30_000);
      if (!gone) throw new Error(`nubo (PID ${pid}) did not stop within 30 s`);
      console.log(`nubo stopped (PID ${pid})`);
    }
    if (opts.purge) {
      await purgeNetworkHost(config, createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel));
      console.log('removed the network agent\'s namespaces, dnsmasq, bridges and chains, and the nubo-upstream namespace');
    }
  });

program.command('status').description('tell what runs')
  .action(async () => {
    const config = loadConfig();
    const pid = runningPid(config);
    if (pid === null) {
      console.log(`nubo: not running (state in ${config.stateDir})`);
      process.exitCode = 3;
      return;
    }
    const ok = await healthy(config);
    console.log(`nubo: running, PID ${pid}, ${ok ? 'healthy' : 'NOT healthy'}, ${config.publicUrl} (state in ${config.stateDir}, log ${logFile(config)})`);
    if (!ok) process.exitCode = 1;
  });

program.command('openrc').description('print the admin credentials as shell exports: eval "$(./nubo openrc)"')
  .action(() => {
    const config = loadConfig();
    process.stdout.write(keystonerc(config, loadOrCreateSecrets(config.stateDir)));
  });

const identity = program.command('identity').description('identity service administration');
identity.command('rotate-keys').description('rotate the Fernet token keys (the running server picks them up)')
  .action(async () => {
    const config = loadConfig();
    const repo = await KeyRepository.setup(fernetKeyDir(config), { maxActiveKeys: config.identity.maxActiveKeys });
    await repo.rotate();
    for (const k of repo.describe()) console.log(`key ${k.index}: ${k.role} ${k.fingerprint}`);
  });

addImageCommands(program);
addSchedulerCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`nubo: ${(e as Error).message}`);
  process.exit(1);
});
