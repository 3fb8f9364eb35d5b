import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { Actor } from '../auth/actor';
import { ErrorCode } from '../common/errors';
import type { Config } from '../config/config';
import type { GraphQLContext } from './context';
import { formatError, logErrors } from './errors';
import { limitRules, operationChecks, tooComplex } from './limits';

/*
 * What Apollo's request pipeline does for /graphql over HTTP, for the operations that arrive over
 * the WebSocket (graphql-ws), which Apollo does not serve: the same limits (GRAPHQL_MAX_QUERY_BYTES,
 * tokens, depth, aliases, directives, cost, introspection), the same error codes for malformed
 * operations, and the same formatting and logging of errors.
 */

export interface OperationRequest {
  query: string;
  operationName?: string | null | undefined;
  variables?: Record<string, unknown> | null | undefined;
}

export interface PreparedOperation {
  document: DocumentNode;
  operation: OperationDefinitionNode;
}

/**
 * An operation as the metrics count it: by what it asked for first ("query:predict"), from the
 * schema, so the labels stay few whatever operation names clients send; "invalid" when it was refused before.
 */
export function operationLabel(operation: OperationDefinitionNode | null | undefined): string {
  if (!operation) return 'invalid';
  const root = operation.selectionSet.selections.find((s) => s.kind === Kind.FIELD);
  return `${operation.operation}:${root?.kind === Kind.FIELD ? root.name.value : '?'}`;
}

/** A GraphQL error with one of the codes Apollo gives malformed requests, keeping its locations. */
function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    originalError: error,
    extensions: { code },
  });
}

/** Parses, validates and checks an operation for `actor`, or says why it may not run (before it runs). */
export function operationPreparer(schema: GraphQLSchema, limits: Config['graphql'], development: boolean) {
  const rules = [...specifiedRules, ...limitRules(limits)];
  const check = operationChecks(schema, limits, development);
  return (request: OperationRequest, actor: Actor): PreparedOperation | GraphQLError[] => {
    const size = Buffer.byteLength(request.query);
    if (size > limits.maxQueryBytes) return [tooComplex('size', limits.maxQueryBytes, size)];
    let document: DocumentNode;
    try {
      document = parse(request.query, { maxTokens: limits.maxTokens });
    } catch (e) {
      // formatError answers the token limit's syntax error as QUERY_TOO_COMPLEX.
      if (e instanceof GraphQLError) return [withCode(e, 'GRAPHQL_PARSE_FAILED')];
      throw e;
    }
    const invalid = validate(schema, document, rules);
    if (invalid.length > 0) return invalid.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED'));
    const operationName = request.operationName ?? undefined;
    const operation = getOperationAST(document, operationName);
    if (!operation)
      return [
        new GraphQLError(
          operationName
            ? `Unknown operation named "${operationName}".`
            : 'Must provide operation name if query contains multiple operations.',
          { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } },
        ),
      ];
    const variables = request.variables ?? {};
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 50 });
    if (coerced.errors) return coerced.errors.map((e) => withCode(e, ErrorCode.BAD_USER_INPUT));
    try {
      check({ document, variables, operationName, actor });
    } catch (e) {
      if (e instanceof GraphQLError) return [e];
      throw e;
    }
    return { document, operation };
  };
}

/**
 * The errors of one operation as a client receives them: formatted as over HTTP (codes, masking),
 * with the operation's request id, and logged when unexpected.
 */
export function errorFormatter(development: boolean) {
  const format = formatError(development);
  return (
    errors: readonly GraphQLError[],
    context: Pick<GraphQLContext, 'requestId' | 'logger'>,
  ): GraphQLFormattedError[] => {
    logErrors(context.logger, errors);
    return errors.map((error) => {
      const formatted = format(error.toJSON(), error);
      // Apollo drops the HTTP status a limit's error carries; a WebSocket message has none.
      const { http: _http, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions: { ...extensions, requestId: context.requestId } };
    });
  };
}
