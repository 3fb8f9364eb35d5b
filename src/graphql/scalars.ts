import { DateTimeResolver, JSONResolver } from 'graphql-scalars';

/** `DateTime` (ISO 8601) and `JSON`, the scalar names API-SKETCH uses. */
export const DateTimeScalar = DateTimeResolver;
export const JSONScalar = JSONResolver;
