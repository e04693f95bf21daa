// A request-body field that may be null. Null must be the union's first branch: the
// validator coerces scalars (coerceTypes, src/http/server.ts), so with the other type first a
// null would pass as "" or 0 and a client's "unset this" would be stored as a value.
import { Type, type TSchema } from 'typebox';

export const Nullable = <T extends TSchema>(t: T) => Type.Union([Type.Null(), t]);
