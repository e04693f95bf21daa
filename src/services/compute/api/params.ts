// Nova's parameter_types shared by several compute request schemas.
import { Type } from 'typebox';

/** Nova's parameter_types.boolean: JSON booleans and the strings oslo's bool_from_string knows. */
const NOVA_TRUE = ['True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes'];
const NOVA_FALSE = ['False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no'];
export const NovaBoolean = Type.Union([Type.Boolean(), Type.Enum([...NOVA_TRUE, ...NOVA_FALSE])]);

/** The value of a NovaBoolean. */
export const isTrue = (v: unknown): boolean => v === true || (typeof v === 'string' && NOVA_TRUE.includes(v));
