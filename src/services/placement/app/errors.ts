// Placement's error codes (the `code` of its JSON errors, microversion 1.23): clients such as
// Nova's report client tell a generation conflict from an in-use inventory by them.
import { BadRequest, Conflict, NotFound, type NuboError } from '../../../core/errors.ts';

export const CODES = {
  undefined: 'placement.undefined_code',
  inventoryInUse: 'placement.inventory.inuse',
  concurrentUpdate: 'placement.concurrent_update',
  duplicateName: 'placement.duplicate_name',
  providerInUse: 'placement.resource_provider.inuse',
  cannotDeleteParent: 'placement.resource_provider.cannot_delete_parent',
  providerNotFound: 'placement.resource_provider.not_found',
  duplicateQueryKey: 'placement.query.duplicate_key',
  badQueryValue: 'placement.query.bad_value',
  missingQueryValue: 'placement.query.missing_value',
} as const;

/** A typed error carrying a Placement error code. */
export function coded<E extends NuboError>(err: E, code: string): E {
  return Object.assign(err, { code });
}

export function codeOf(err: NuboError): string {
  const code = (err as NuboError & { code?: unknown }).code;
  return typeof code === 'string' ? code : CODES.undefined;
}

/** 409 placement.concurrent_update: someone changed the provider or consumer first. */
export const concurrentUpdate = (message: string) => coded(new Conflict(message), CODES.concurrentUpdate);

export const providerNotFound = (uuid: string) => new NotFound(`No resource provider with uuid ${uuid} found.`);

export const badQuery = (message: string) => coded(new BadRequest(message), CODES.badQueryValue);
