import { DateTimeResolver, JSONResolver } from 'graphql-scalars';

/** `DateTime` (ISO 8601) and `JSON`: the scalar names of the public schema (schema.graphql). */
export const DateTimeScalar = DateTimeResolver;
export const JSONScalar = JSONResolver;
