// Neutron's typed faults: the HTTP edge renders them as
// {"NeutronError": {"type": <type>, "message": <message>, "detail": ""}} (service.ts).
import { NuboError } from '../../../core/errors.ts';

export class NeutronError extends NuboError {
  /** Neutron's exception class name, e.g. NetworkNotFound: clients and Tempest read it. */
  readonly type: string;
  constructor(status: number, type: string, message: string) {
    super(status, TITLES[status] ?? 'Error', message);
    this.type = type;
  }
}

const TITLES: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 503: 'Service Unavailable' };

/** 400 InvalidInput, Neutron's message shape. */
export const invalidInput = (why: string) => new NeutronError(400, 'InvalidInput', `Invalid input for operation: ${why}`);
export const badRequest = (message: string, type = 'BadRequest') => new NeutronError(400, type, message);
export const conflict = (type: string, message: string) => new NeutronError(409, type, message);
export const notFound = (type: string, message: string) => new NeutronError(404, type, message);

export const networkNotFound = (id: string) => notFound('NetworkNotFound', `Network ${id} could not be found.`);
export const subnetNotFound = (id: string) => notFound('SubnetNotFound', `Subnet ${id} could not be found.`);
export const portNotFound = (id: string) => notFound('PortNotFound', `Port ${id} could not be found.`);
export const routerNotFound = (id: string) => notFound('RouterNotFound', `Router ${id} could not be found`);
export const floatingIpNotFound = (id: string) => notFound('FloatingIPNotFound', `Floating IP ${id} could not be found`);
export const securityGroupNotFound = (id: string) => notFound('SecurityGroupNotFound', `Security group ${id} does not exist`);
export const securityGroupRuleNotFound = (id: string) => notFound('SecurityGroupRuleNotFound', `Security group rule ${id} does not exist`);

/** Quota exceeded: Neutron answers 409 OverQuota. */
export const overQuota = (resource: string) => conflict('OverQuota', `Quota exceeded for resources: ['${resource}'].`);
