// Body validation for routes whose schema is chosen per request (e.g. by microversion), so it
// cannot be the route's static schema. The 400 reads as the route schemas' do (errors.ts).
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { schemaError, type SchemaFailure } from './errors.ts';

const compiled = new WeakMap<TSchema, ReturnType<typeof Compile>>();

/**
 * The body when it matches `schema`, as the caller's type T (Static<typeof schema>, or the one
 * type of several versions' schemas); a 400 naming the first problem otherwise.
 */
export function validateBody<T>(schema: TSchema, body: unknown): T {
  let check = compiled.get(schema);
  if (!check) {
    check = Compile(schema);
    compiled.set(schema, check);
  }
  if (check.Check(body)) return body as T;
  const errors = check.Errors(body) as SchemaFailure[];
  // additionalProperties is also reported as the key's `false` schema: the named form reads better.
  throw schemaError(errors.find((e) => e.keyword !== 'boolean') ?? errors[0]);
}
