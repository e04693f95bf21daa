// /v2.0/security-groups and /v2.0/security-group-rules.
import type { FastifyInstance } from 'fastify';
import type { NetworkContext } from '../app/context.ts';
import { createRule, deleteRule, getRule, listRules } from '../app/security-group-rules.ts';
import { createSecurityGroup, deleteSecurityGroup, getSecurityGroup, listSecurityGroups, updateSecurityGroup } from '../app/security-groups.ts';
import { authorize, ownerOf, scopeOf, type Caller } from './access.ts';
import { parseQuery } from './query.ts';
import { SecurityGroupCreate, SecurityGroupRuleCreate, SecurityGroupUpdate, validate } from './schemas.ts';
import { listAnswer, showFields, view } from './views.ts';

type Id = { Params: { id: string } };

export function securityGroupRoutes(app: FastifyInstance, ctx: NetworkContext, caller: Caller): void {
  app.get('/security-groups', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, 'get_security_group', { project_id: c.project_id });
    const query = parseQuery(req.query);
    const records = await listSecurityGroups(ctx, scopeOf(ctx, c), query.list.filters);
    return listAnswer(ctx, c, { resource: 'security_group', plural: 'security_groups', path: 'security-groups', query }, records);
  });

  app.get<Id>('/security-groups/:id', async (req) => {
    const c = await caller(req);
    const group = await getSecurityGroup(ctx, scopeOf(ctx, c), req.params.id);
    authorize(ctx, c, 'get_security_group', { project_id: group.project_id });
    return { security_group: view(ctx, c, 'security_group', group, showFields(req.query)) };
  });

  app.post('/security-groups', async (req, reply) => {
    const c = await caller(req);
    const b = validate(SecurityGroupCreate, req.body).security_group;
    const projectId = ownerOf(ctx, c, b);
    authorize(ctx, c, 'create_security_group', { project_id: projectId });
    const group = await createSecurityGroup(ctx, { projectId, name: b.name ?? '', description: b.description ?? '', stateful: b.stateful ?? true, tags: b.tags ?? [] });
    return reply.status(201).send({ security_group: view(ctx, c, 'security_group', group, null) });
  });

  app.put<Id>('/security-groups/:id', async (req) => {
    const c = await caller(req);
    const scope = scopeOf(ctx, c);
    const current = await getSecurityGroup(ctx, scope, req.params.id);
    const b = validate(SecurityGroupUpdate, req.body).security_group;
    authorize(ctx, c, 'update_security_group', { project_id: current.project_id });
    const group = await updateSecurityGroup(ctx, scope, req.params.id, { name: b.name, description: b.description, stateful: b.stateful });
    return { security_group: view(ctx, c, 'security_group', group, null) };
  });

  app.delete<Id>('/security-groups/:id', async (req, reply) => {
    const c = await caller(req);
    const scope = scopeOf(ctx, c);
    const current = await getSecurityGroup(ctx, scope, req.params.id);
    authorize(ctx, c, 'delete_security_group', { project_id: current.project_id });
    await deleteSecurityGroup(ctx, scope, req.params.id);
    return reply.status(204).send();
  });

  app.get('/security-group-rules', async (req) => {
    const c = await caller(req);
    authorize(ctx, c, 'get_security_group_rule', { project_id: c.project_id });
    const query = parseQuery(req.query);
    const records = await listRules(ctx, scopeOf(ctx, c), query.list.filters);
    return listAnswer(ctx, c, { resource: 'security_group_rule', plural: 'security_group_rules', path: 'security-group-rules', query }, records);
  });

  app.get<Id>('/security-group-rules/:id', async (req) => {
    const c = await caller(req);
    const rule = await getRule(ctx, scopeOf(ctx, c), req.params.id);
    authorize(ctx, c, 'get_security_group_rule', { project_id: rule.project_id });
    return { security_group_rule: view(ctx, c, 'security_group_rule', rule, showFields(req.query)) };
  });

  app.post('/security-group-rules', async (req, reply) => {
    const c = await caller(req);
    const b = validate(SecurityGroupRuleCreate, req.body).security_group_rule;
    const group = await getSecurityGroup(ctx, scopeOf(ctx, c), b.security_group_id);
    ownerOf(ctx, c, b);
    authorize(ctx, c, 'create_security_group_rule', { project_id: group.project_id });
    const rule = await createRule(ctx, scopeOf(ctx, c), {
      securityGroupId: b.security_group_id, direction: b.direction, ethertype: b.ethertype, protocol: b.protocol, portRangeMin: b.port_range_min,
      portRangeMax: b.port_range_max, remoteIpPrefix: b.remote_ip_prefix, remoteGroupId: b.remote_group_id, description: b.description,
    });
    return reply.status(201).send({ security_group_rule: view(ctx, c, 'security_group_rule', rule, null) });
  });

  app.delete<Id>('/security-group-rules/:id', async (req, reply) => {
    const c = await caller(req);
    const scope = scopeOf(ctx, c);
    const rule = await getRule(ctx, scope, req.params.id);
    authorize(ctx, c, 'delete_security_group_rule', { project_id: rule.project_id });
    await deleteRule(ctx, scope, req.params.id);
    return reply.status(204).send();
  });
}
