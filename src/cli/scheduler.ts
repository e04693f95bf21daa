// `nubo scheduler explain --flavor F --image I [--az Z]`: where a boot would land, or why it
// would not, without booting. It opens the configured database read-only in spirit (no
// migrations, no writes), builds the scheduler's host states exactly as the placer does, and
// prints the scheduler's explanation: per filter how many hosts it turned away, the rejections
// grouped by reason, the chosen host with its weights — or the very sentence a failed boot's
// NoValidHost fault would carry.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import type { FlavorSpec } from '../agents/compute/virt/driver.ts';
import type { Config } from '../core/config.ts';
import { loadConfig } from '../core/config.ts';
import { NotFound } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import { PolicyEnforcer } from '../core/policy.ts';
import { openDatabase } from '../db/database.ts';
import { toFlavorSpec } from '../services/compute/app/flavors.ts';
import { hostStates, requestSpec } from '../services/compute/app/host-states.ts';
import type { ComputeDB } from '../services/compute/db/schema.ts';
import type { ImageDB } from '../services/image/db/schema.ts';
import type { PlacementContext } from '../services/placement/app/context.ts';
import type { PlacementDB } from '../services/placement/db/schema.ts';
import { placementPolicy } from '../services/placement/policy.ts';
import { resourcesFor } from '../services/scheduler/resources.ts';
import type { Explanation } from '../services/scheduler/explanation.ts';
import { formatNoValidHost, phrase } from '../services/scheduler/format.ts';
import { explain } from '../services/scheduler/select.ts';

export type ExplainRequest = { flavor: string; image: string; availabilityZone?: string };

export type ExplainAnswer = {
  flavor: FlavorSpec;
  image: { id: string; name: string | null; properties: Record<string, string> };
  availabilityZone: string | null;
  explanation: Explanation;
  /** The host a boot would go to now, or null (then `sentence` says why). */
  chosen: string | null;
  /** The NoValidHost fault's sentence when no host fits, else null. */
  sentence: string | null;
};

/** A flavor by id or, failing that, by its (unique) name. */
async function findFlavor(db: Kysely<ComputeDB>, ref: string): Promise<FlavorSpec> {
  const row = await db.selectFrom('flavor').selectAll().where('id', '=', ref).executeTakeFirst()
    ?? await db.selectFrom('flavor').selectAll().where('name', '=', ref).executeTakeFirst();
  if (!row) throw new NotFound(`Flavor ${ref} could not be found.`);
  const specs = await db.selectFrom('flavor_extra_spec').select(['key', 'value']).where('flavor_id', '=', row.id).execute();
  return toFlavorSpec(row, Object.fromEntries(specs.map((s) => [s.key, s.value])));
}

/** An image by id or, failing that, by name (refused when several images share it). */
async function findImage(db: Kysely<ImageDB>, ref: string): Promise<ExplainAnswer['image']> {
  let rows = await db.selectFrom('image').select(['id', 'name', 'status']).where('id', '=', ref).execute();
  if (!rows.length) rows = await db.selectFrom('image').select(['id', 'name', 'status']).where('name', '=', ref).execute();
  if (!rows.length) throw new NotFound(`Image ${ref} could not be found.`);
  if (rows.length > 1) throw new NotFound(`More than one image is named ${ref}; give its id (${rows.map((r) => r.id).join(', ')}).`);
  const image = rows[0] as (typeof rows)[number];
  const props = await db.selectFrom('image_property').select(['name', 'value']).where('image_id', '=', image.id).execute();
  return { id: image.id, name: image.name, properties: Object.fromEntries(props.map((p) => [p.name, p.value])) };
}

/** The scheduler's answer for one instance of `req`, from the cloud's database as it is now. */
export async function explainBoot(config: Config, req: ExplainRequest): Promise<ExplainAnswer> {
  if (config.databaseUrl.startsWith('sqlite:') && !existsSync(config.databaseUrl.slice('sqlite:'.length))) {
    throw new Error(`no database at ${config.databaseUrl.slice('sqlite:'.length)}: start the cloud first (./nubo up)`);
  }
  const database = openDatabase<ComputeDB>(config.databaseUrl);
  try {
    const log = createLogger('error');
    const compute = { db: database.db, config };
    // Only providerSummaries runs on it: no migrations, no writes.
    const placement: PlacementContext = { db: database.db as unknown as Kysely<PlacementDB>, engine: database.engine, log, publicUrl: config.publicUrl, policy: new PolicyEnforcer(placementPolicy) };
    const flavor = await findFlavor(database.db, req.flavor);
    const image = await findImage(database.db as unknown as Kysely<ImageDB>, req.image);
    const availabilityZone = req.availabilityZone ?? null;
    const [hosts, spec] = await Promise.all([
      hostStates(compute, placement, false),
      requestSpec(compute, {
        instanceUuid: randomUUID(), projectId: '', userId: '', flavor, image: { id: image.id, properties: image.properties },
        availabilityZone, groupId: null, hints: {},
      }),
    ]);
    const explanation = explain(hosts, spec, config.compute.scheduler);
    const chosen = explanation.chosen[0] ?? null;
    return { flavor, image, availabilityZone, explanation, chosen, sentence: chosen ? null : formatNoValidHost(explanation) };
  } finally {
    await database.close();
  }
}

const UNITS: Record<string, string> = { VCPU: 'vCPU', MEMORY_MB: 'MB RAM', DISK_GB: 'GB disk' };

/** The answer as an operator reads it. */
export function renderExplanation(a: ExplainAnswer): string {
  const e = a.explanation;
  const asked = Object.entries(resourcesFor(a.flavor)).map(([rc, n]) => `${n} ${UNITS[rc] ?? rc}`).join(', ');
  const lines = [
    `Request: flavor ${a.flavor.name} (${asked}), image ${a.image.name ?? a.image.id} (${a.image.id}), availability zone ${a.availabilityZone ?? 'any'}`,
    `Hosts: ${e.totalHosts}`,
    'Filters:',
  ];
  const width = Math.max(...e.filters.map((f) => f.name.length));
  for (const f of e.filters) {
    lines.push(`  ${f.name.padEnd(width)}  ${f.applied ? `${f.hostsIn} in, ${f.rejected} rejected, ${f.hostsIn - f.rejected} passed` : 'not asked for'}`);
  }
  if (e.rejected.length) {
    lines.push('Rejected:');
    for (const g of e.rejected) {
      const shown = g.hosts.slice(0, 5).join(', ') + (g.hosts.length > 5 ? `, … ${g.hosts.length - 5} more` : '');
      lines.push(`  ${g.filter}: ${phrase(g)}: ${shown}`);
    }
  }
  const weighed = e.hosts.filter((h) => h.weight !== null).sort((x, y) => (y.weight as number) - (x.weight as number));
  if (weighed.length) {
    lines.push('Weighed (best first):');
    for (const h of weighed.slice(0, 10)) {
      const parts = (h.weights ?? []).map((w) => `${w.weigher} ${w.normalized.toFixed(3)}×${w.multiplier}`).join(', ');
      lines.push(`  ${h.host}  ${(h.weight as number).toFixed(3)}${parts ? `  (${parts})` : ''}`);
    }
  }
  lines.push(a.chosen ? `Chosen: ${a.chosen}` : a.sentence ?? '');
  return `${lines.join('\n')}\n`;
}

export function addSchedulerCommands(program: Command): void {
  const scheduler = program.command('scheduler').description('the compute scheduler');
  scheduler.command('explain').description('dry run: where a server of this flavor and image would boot now, or why it would not (exit status 2)')
    .requiredOption('--flavor <flavor>', 'flavor id or name')
    .requiredOption('--image <image>', 'image id or name')
    .option('--az <zone>', 'availability zone asked for')
    .action(async (opts: { flavor: string; image: string; az?: string }) => {
      const answer = await explainBoot(loadConfig(), { flavor: opts.flavor, image: opts.image, ...(opts.az ? { availabilityZone: opts.az } : {}) });
      process.stdout.write(renderExplanation(answer));
      if (!answer.chosen) process.exitCode = 2;
    });
}
