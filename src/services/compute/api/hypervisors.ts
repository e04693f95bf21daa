// os-hypervisors (admin). Ids are integers (the host's nova-compute service id: see
// app/hypervisors.ts); cpu_info is the JSON text the driver reported, an object from 2.28.
// From 2.33 the list and detail page (limit, marker by id, hypervisors_links). `servers`
// appears only on hypervisors that have instances, as in Nova.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { computeTopic, type AgentMethods } from '../../../agents/compute/protocol.ts';
import { BadRequest } from '../../../core/errors.ts';
import type { ProjectCaller } from '../../../http/caller.ts';
import { authorize } from '../app/authorize.ts';
import type { ComputeContext } from '../app/context.ts';
import { freeDiskGb, freeRamMb, getHypervisor, hypervisorStatistics, listHypervisors, searchHypervisors, type Hypervisor } from '../app/hypervisors.ts';
import { limitAndMarker, nextLinks } from './links.ts';
import { atLeast, minor } from './microversion.ts';

type Caller = (req: FastifyRequest) => Promise<ProjectCaller>;

const POLICY = 'os_compute_api:os-hypervisors';

export function hypervisorSummaryView(h: Hypervisor) {
  return { id: h.id, hypervisor_hostname: h.node.hypervisor_hostname, state: h.state, status: h.status };
}

/** cpu_info from 2.28: the object the text holds ({} for none). */
function cpuInfo(minor: number, text: string): unknown {
  if (minor < 28) return text;
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return {};
  }
}

export function hypervisorDetailView(minor: number, h: Hypervisor) {
  return {
    ...hypervisorSummaryView(h),
    vcpus: h.node.vcpus, memory_mb: h.node.memory_mb, local_gb: h.node.local_gb,
    vcpus_used: h.vcpusUsed, memory_mb_used: h.memoryMbUsed, local_gb_used: h.localGbUsed,
    hypervisor_type: h.node.hypervisor_type, hypervisor_version: h.node.hypervisor_version,
    free_ram_mb: freeRamMb(h), free_disk_gb: freeDiskGb(h),
    current_workload: h.currentWorkload, running_vms: h.runningVms,
    // Nubo does not measure the real free space under overlays: what flavors leave free is the best lower bound it has.
    disk_available_least: freeDiskGb(h),
    host_ip: h.node.host_ip, cpu_info: cpuInfo(minor, h.node.cpu_info),
    service: { host: h.service.host, id: h.service.id, disabled_reason: h.service.disabled_reason },
  };
}

const withServers = (h: Hypervisor) => ({ ...hypervisorSummaryView(h), ...(h.servers.length ? { servers: h.servers } : {}) });

export function hypervisorRoutes(app: FastifyInstance, ctx: ComputeContext, caller: Caller): void {
  const admin = async (req: FastifyRequest) => authorize(ctx, await caller(req), POLICY);
  type Id = { Params: { id: string } };

  /** A page of hypervisors from 2.33 (all of them before), with its hypervisors_links. */
  const page = <V>(req: FastifyRequest, path: string, all: Hypervisor[], view: (h: Hypervisor) => V) => {
    if (!atLeast(req, 33)) return { hypervisors: all.map(view) };
    const { limit, marker } = limitAndMarker(req.query);
    let from = 0;
    if (marker !== undefined) {
      from = all.findIndex((h) => String(h.id) === marker) + 1;
      if (from === 0) throw new BadRequest(`marker [${marker}] not found`);
    }
    const items = all.slice(from, from + limit);
    const links = nextLinks(ctx.config.publicUrl, path, req.query, items.at(-1)?.id, items.length === limit);
    return links ? { hypervisors: items.map(view), hypervisors_links: links } : { hypervisors: items.map(view) };
  };

  app.get('/os-hypervisors', async (req) => {
    await admin(req);
    return page(req, 'os-hypervisors', await listHypervisors(ctx), hypervisorSummaryView);
  });
  app.get('/os-hypervisors/detail', async (req) => {
    await admin(req);
    return page(req, 'os-hypervisors/detail', await listHypervisors(ctx), (h) => hypervisorDetailView(minor(req), h));
  });
  app.get('/os-hypervisors/statistics', async (req) => {
    await admin(req);
    return { hypervisor_statistics: await hypervisorStatistics(ctx) };
  });
  app.get<Id>('/os-hypervisors/:id', async (req) => {
    await admin(req);
    return { hypervisor: hypervisorDetailView(minor(req), await getHypervisor(ctx, req.params.id)) };
  });
  // The host's `uptime` line, asked of its agent (Nova asks its compute service the same way);
  // `openstack hypervisor show` splits it into host_time, uptime, users and load_average.
  app.get<Id>('/os-hypervisors/:id/uptime', async (req) => {
    await admin(req);
    const h = await getHypervisor(ctx, req.params.id);
    const answer = await ctx.bus.call<AgentMethods['hostUptime']['result']>(computeTopic(h.service.host), 'hostUptime', {}, { timeoutMs: 10_000 })
      .catch(() => { throw new BadRequest(`Compute service of ${h.service.host} is unavailable at this time.`); });
    return { hypervisor: { ...hypervisorSummaryView(h), uptime: answer.uptime } };
  });
  app.get<Id>('/os-hypervisors/:id/search', async (req) => {
    await admin(req);
    return { hypervisors: (await searchHypervisors(ctx, req.params.id)).map(hypervisorSummaryView) };
  });
  app.get<Id>('/os-hypervisors/:id/servers', async (req) => {
    await admin(req);
    return { hypervisors: (await searchHypervisors(ctx, req.params.id)).map(withServers) };
  });
}
