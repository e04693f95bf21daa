// Server actions (POST /servers/{id}/action): each checks the transition table, takes the
// task by compare-and-swap, answers, and finishes in the background through the host's agent.
// A failed action gives the task back (the server keeps the state it had) and is recorded as
// an error event of the instance action, as Nova does.
import { createHmac, randomBytes } from 'node:crypto';
import { computeTopic, type AgentMethods } from '../../../agents/compute/protocol.ts';
import type { FlavorSpec, PowerStateValue } from '../../../agents/compute/virt/driver.ts';
import { BadRequest, Conflict, Forbidden } from '../../../core/errors.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import { imageProperties } from '../../../http/image-client.ts';
import type { InstanceRow } from '../db/schema.ts';
import { authorize } from './authorize.ts';
import { inBackground } from './background.ts';
import { bootableImage, currentImageSpec, imageSpec, refId } from './boot-image.ts';
import type { ComputeContext } from './context.ts';
import { getFlavorForBoot } from './flavors.ts';
import { actionEvent, recordAction } from './instance-actions.ts';
import { domainName, finish, flavorOf, isAdmin, now, recordFault, transition, visibleInstance } from './instances.ts';
import { checkLock } from './servers.ts';
import { buildSpec } from './spec.ts';
import { TRANSITIONS, type Action } from './states.ts';

type Request = { caller: ProjectCaller; id: string; requestId: string; userToken: string };

const AGENT_TIMEOUT_MS = 10 * 60_000;

function agentCall<M extends keyof AgentMethods>(ctx: ComputeContext, host: string, method: M, args: AgentMethods[M]['args']): Promise<AgentMethods[M]['result']> {
  return ctx.bus.call<AgentMethods[M]['result']>(computeTopic(host), method, args, { timeoutMs: AGENT_TIMEOUT_MS });
}

async function begin(ctx: ComputeContext, r: Request, action: Action, apiName: string): Promise<InstanceRow> {
  const row = await visibleInstance(ctx, r.caller, r.id);
  authorize(ctx, r.caller, 'os_compute_api:servers:action', row);
  checkLock(ctx, r.caller, row);
  const taken = await transition(ctx, row, action);
  await recordAction(ctx, { instanceUuid: row.id, action: apiName, requestId: r.requestId, caller: r.caller });
  return taken;
}

/** Runs the agent side of an action after the answer; on failure gives the task back. */
function complete(ctx: ComputeContext, r: Request, row: InstanceRow, action: Action, event: string, work: () => Promise<Parameters<typeof finish>[3]>, undo?: () => Promise<void>): void {
  const task = TRANSITIONS[action].task;
  inBackground(ctx, `${event} ${row.id}`, async () => {
    try {
      const set = await actionEvent(ctx, row.id, r.requestId, `compute_${event}`, row.host, work);
      await finish(ctx, row.id, task, set);
    } catch (e) {
      await undo?.().catch((u: unknown) => ctx.log.error({ err: u, instance: row.id }, `undoing ${event} failed`));
      await finish(ctx, row.id, task, {});
      await recordFault(ctx, row.id, e, (e as { status?: number }).status ?? 500, row.host);
      throw e;
    }
  });
}

const hostOf = (row: InstanceRow): string => {
  if (!row.host) throw new Conflict(`Instance ${row.id} is not ready: it has no host yet.`);
  return row.host;
};

/** os-start, os-stop, reboot, pause, unpause, suspend, resume. */
export async function powerAction(ctx: ComputeContext, r: Request, action: 'start' | 'stop' | 'reboot' | 'rebootHard' | 'pause' | 'unpause' | 'suspend' | 'resume'): Promise<void> {
  const current = await visibleInstance(ctx, r.caller, r.id);
  const host = hostOf(current);
  const apiName = { start: 'start', stop: 'stop', reboot: 'reboot', rebootHard: 'reboot', pause: 'pause', unpause: 'unpause', suspend: 'suspend', resume: 'resume' }[action];
  const row = await begin(ctx, r, action, apiName);
  const name = domainName(row.seq);
  const to = TRANSITIONS[action].to;
  const call = async (): Promise<{ powerState: PowerStateValue }> => {
    switch (action) {
      case 'start': return agentCall(ctx, host, 'powerOn', { name });
      case 'stop': return agentCall(ctx, host, 'powerOff', { name, timeoutSeconds: ctx.config.compute.cleanShutdownTimeoutSeconds });
      case 'reboot': return agentCall(ctx, host, 'reboot', { name, type: 'SOFT' });
      case 'rebootHard': return agentCall(ctx, host, 'reboot', { name, type: 'HARD' });
      default: return agentCall(ctx, host, action, { name });
    }
  };
  complete(ctx, r, row, action, apiName === 'reboot' ? 'reboot_instance' : `${apiName}_instance`, async () => {
    const { powerState } = await call();
    return { power_state: powerState, vm_state: to };
  });
}

export async function setLock(ctx: ComputeContext, r: Request, lock: boolean): Promise<void> {
  const row = await visibleInstance(ctx, r.caller, r.id);
  authorize(ctx, r.caller, 'os_compute_api:servers:action', row);
  if (!lock && row.locked && row.locked_by === 'admin' && !isAdmin(ctx, r.caller)) {
    throw new Forbidden(`Policy doesn't allow os_compute_api:os-lock-server:unlock:unlock_override to be performed.`);
  }
  await ctx.db.updateTable('instance').set({ locked: lock ? 1 : 0, locked_by: lock ? (isAdmin(ctx, r.caller) && row.project_id !== r.caller.project_id ? 'admin' : 'owner') : null, updated_at: now() }).where('id', '=', row.id).execute();
  await recordAction(ctx, { instanceUuid: row.id, action: lock ? 'lock' : 'unlock', requestId: r.requestId, caller: r.caller });
}

export async function consoleOutput(ctx: ComputeContext, r: Request, length: number | null): Promise<string> {
  const row = await visibleInstance(ctx, r.caller, r.id);
  authorize(ctx, r.caller, 'os_compute_api:servers:action', row);
  if (!(TRANSITIONS.consoleOutput.from as readonly string[]).includes(row.vm_state) || !row.host) {
    throw new Conflict(`Instance ${row.id} is not ready: it is in vm_state ${row.vm_state}.`);
  }
  const { output } = await agentCall(ctx, row.host, 'consoleOutput', { name: domainName(row.seq), ...(length !== null && length >= 0 ? { length } : {}) });
  return output;
}

// Console tokens are signed with a key of this process: they are short-lived (10 minutes)
// and only this process's console proxy checks them.
const consoleKey = randomBytes(32);
const CONSOLE_TTL_MS = 10 * 60_000;

export function consoleToken(instanceUuid: string, nowMs = Date.now()): string {
  const payload = Buffer.from(JSON.stringify({ i: instanceUuid, e: nowMs + CONSOLE_TTL_MS })).toString('base64url');
  return `${payload}.${createHmac('sha256', consoleKey).update(payload).digest('base64url')}`;
}

/** The instance a console token is for, or null when it is forged or expired. */
export function checkConsoleToken(token: string, nowMs = Date.now()): string | null {
  const [payload, mac] = token.split('.');
  if (!payload || !mac || createHmac('sha256', consoleKey).update(payload).digest('base64url') !== mac) return null;
  const { i, e } = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { i: string; e: number };
  return e > nowMs ? i : null;
}

export async function vncConsole(ctx: ComputeContext, r: Request, type: string): Promise<{ type: string; url: string }> {
  if (type !== 'novnc' && type !== 'xvpvnc') throw new BadRequest(`Invalid console type ${type}: use novnc.`);
  const row = await visibleInstance(ctx, r.caller, r.id);
  authorize(ctx, r.caller, 'os_compute_api:servers:action', row);
  if (!(TRANSITIONS.vncConsole.from as readonly string[]).includes(row.vm_state) || !row.host) {
    throw new Conflict(`Instance ${row.id} is not ready: it is in vm_state ${row.vm_state}.`);
  }
  const token = encodeURIComponent(`?token=${consoleToken(row.id)}`);
  return { type, url: `${ctx.config.publicUrl}/vnc/vnc_auto.html?path=${token}` };
}

/** createImage: a snapshot of the root disk, uploaded to the image service as a bootable image. */
export async function createImage(ctx: ComputeContext, r: Request, body: { name: string; metadata?: Record<string, string> }): Promise<string> {
  const current = await visibleInstance(ctx, r.caller, r.id);
  const host = hostOf(current);
  const base = await ctx.images.get(current.image_ref);
  const row = await begin(ctx, r, 'createImage', 'createImage');
  let image;
  try {
    image = await ctx.images.createForUser({
      name: body.name, disk_format: 'qcow2', container_format: 'bare', visibility: 'private',
      // Nova copies the base image's properties and marks the snapshot.
      ...(base ? imageProperties(base) : {}), ...body.metadata,
      image_type: 'snapshot', instance_uuid: row.id, base_image_ref: row.image_ref, owner_user_name: r.caller.user_name,
      ...(base ? { min_disk: base.min_disk, min_ram: base.min_ram } : {}),
    }, r.userToken);
  } catch (e) {
    await finish(ctx, row.id, TRANSITIONS.createImage.task, {});
    throw e;
  }
  const imageId = image.id;
  complete(ctx, r, row, 'createImage', 'snapshot_instance', async () => {
    await agentCall(ctx, host, 'snapshot', { name: domainName(row.seq), imageId });
    return {};
  }, () => ctx.images.delete(imageId));
  return imageId;
}

export async function rebuild(ctx: ComputeContext, r: Request, body: { imageRef: string; name?: string; description?: string | null; metadata?: Record<string, string>; accessIPv4?: string | null; accessIPv6?: string | null }): Promise<InstanceRow> {
  const current = await visibleInstance(ctx, r.caller, r.id);
  const host = hostOf(current);
  const image = imageSpec(await bootableImage(ctx, body.imageRef, r.userToken));
  const row = await begin(ctx, r, 'rebuild', 'rebuild');
  const set: Partial<InstanceRow> = {
    image_ref: image.id, updated_at: now(),
    ...(body.name !== undefined ? { display_name: body.name } : {}),
    ...(body.description !== undefined ? { display_description: body.description } : {}),
    ...(body.metadata !== undefined ? { metadata: JSON.stringify(body.metadata) } : {}),
    ...(body.accessIPv4 !== undefined ? { access_ip_v4: body.accessIPv4 } : {}),
    ...(body.accessIPv6 !== undefined ? { access_ip_v6: body.accessIPv6 } : {}),
  };
  await ctx.db.updateTable('instance').set(set).where('id', '=', row.id).execute();
  const rebuilt = { ...row, ...set };
  complete(ctx, r, rebuilt, 'rebuild', 'rebuild_instance', async () => {
    const { powerState } = await agentCall(ctx, host, 'rebuild', { instance: await buildSpec(ctx, rebuilt, image) });
    return { vm_state: 'active', power_state: powerState };
  });
  return rebuilt;
}

export async function resize(ctx: ComputeContext, r: Request, flavorRef: string): Promise<void> {
  const current = await visibleInstance(ctx, r.caller, r.id);
  const host = hostOf(current);
  const oldFlavor = flavorOf(current);
  const newFlavor: FlavorSpec = await getFlavorForBoot(ctx, r.caller, refId(flavorRef));
  if (newFlavor.id === oldFlavor.id) throw new BadRequest('When resizing, instances must change flavor!');
  if (newFlavor.rootGb < oldFlavor.rootGb) throw new BadRequest('Resize error: Unable to resize disk down.');
  const image = await currentImageSpec(ctx, current.image_ref);
  const row = await begin(ctx, r, 'resize', 'resize');
  const node = row.node as string;
  complete(ctx, r, row, 'resize', 'resize_instance', async () => {
    // Claim the new size first: no capacity means no resize, and nothing to undo on the host.
    await ctx.placer.reclaim(row.id, node, row.project_id, row.user_id, newFlavor);
    const { powerState } = await agentCall(ctx, host, 'resize', { instance: await buildSpec(ctx, row, image, JSON.stringify(newFlavor)) });
    return { vm_state: 'resized', power_state: powerState, flavor: JSON.stringify(newFlavor), old_flavor: JSON.stringify(oldFlavor) };
  }, () => ctx.placer.reclaim(row.id, node, row.project_id, row.user_id, oldFlavor));
}

export async function confirmResize(ctx: ComputeContext, r: Request): Promise<void> {
  const current = await visibleInstance(ctx, r.caller, r.id);
  const host = hostOf(current);
  const row = await begin(ctx, r, 'confirmResize', 'confirmResize');
  complete(ctx, r, row, 'confirmResize', 'confirm_resize', async () => {
    await agentCall(ctx, host, 'confirmResize', { name: domainName(row.seq) });
    return { vm_state: row.power_state === 1 ? 'active' : 'stopped', old_flavor: null };
  });
}

export async function revertResize(ctx: ComputeContext, r: Request): Promise<void> {
  const current = await visibleInstance(ctx, r.caller, r.id);
  const host = hostOf(current);
  if (!current.old_flavor) throw new Conflict(`Instance ${current.id} has no resize to revert.`);
  const oldFlavor = JSON.parse(current.old_flavor) as FlavorSpec;
  const spec = await currentImageSpec(ctx, current.image_ref);
  const row = await begin(ctx, r, 'revertResize', 'revertResize');
  complete(ctx, r, row, 'revertResize', 'revert_resize', async () => {
    const { powerState } = await agentCall(ctx, host, 'revertResize', { instance: await buildSpec(ctx, row, spec, row.old_flavor as string) });
    await ctx.placer.reclaim(row.id, row.node as string, row.project_id, row.user_id, oldFlavor);
    return { vm_state: 'active', power_state: powerState, flavor: JSON.stringify(oldFlavor), old_flavor: null };
  });
}
