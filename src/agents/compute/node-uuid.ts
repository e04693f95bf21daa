// The compute node's uuid, persisted as Nova persists it (`<instances_path>/compute_id`): it is
// the placement resource provider's uuid, so a restarted agent must come back as the same
// provider (its allocations stay attached to it), and a reinstalled host must not adopt
// another's. Created once, atomically (written aside, then hard-linked into place), so two
// agents racing at first start agree on one uuid.
import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export async function loadOrCreateNodeUuid(file: string): Promise<string> {
  const existing = await readNodeUuid(file);
  if (existing !== null) return existing;
  await mkdir(dirname(file), { recursive: true });
  const aside = `${file}.${randomUUID()}.tmp`;
  try {
    await writeFile(aside, `${randomUUID()}\n`, { mode: 0o644, flush: true });
    await link(aside, file).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  } finally {
    await rm(aside, { force: true });
  }
  const created = await readNodeUuid(file);
  if (created === null) throw new Error(`compute node id file ${file} vanished while it was being created`);
  return created;
}

async function readNodeUuid(file: string): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const id = text.trim().toLowerCase();
  // Never replace a damaged file silently: a new uuid would be a new resource provider.
  if (!UUID.test(id)) throw new Error(`compute node id file ${file} does not hold a uuid (${JSON.stringify(text.slice(0, 60))}); fix or remove it`);
  return id;
}
