import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  Lexer,
  MaxIntrospectionDepthRule,
  Source,
  TokenKind,
  visit,
  type DocumentNode,
  type GraphQLSchema,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { fieldExtensionsEstimator, getComplexity } from 'graphql-query-complexity';
import type { Actor } from '../auth/actor';
import { ErrorCode, httpStatus } from '../common/errors';
import type { Config } from '../config/config';
import type { GraphQLContext } from './context';
import { defaultCost } from './cost';

export type Limit = 'depth' | 'aliases' | 'directives' | 'tokens' | 'size' | 'cost';

const VARIABLE: Record<Limit, string> = {
  depth: 'GRAPHQL_MAX_DEPTH',
  aliases: 'GRAPHQL_MAX_ALIASES',
  directives: 'GRAPHQL_MAX_DIRECTIVES',
  tokens: 'GRAPHQL_MAX_TOKENS',
  size: 'GRAPHQL_MAX_QUERY_BYTES',
  cost: 'GRAPHQL_MAX_COST',
};

/** QUERY_TOO_COMPLEX, naming the limit, its value and what the operation measured. */
export function tooComplex(limit: Limit, max: number, actual: number | null): GraphQLError {
  const measured = actual === null ? `more than ${max}` : String(actual);
  return new GraphQLError(
    `the operation's ${limit} is ${measured}, over the limit of ${max} (${VARIABLE[limit]}); it was not run`,
    {
      extensions: {
        code: ErrorCode.QUERY_TOO_COMPLEX,
        limit,
        max,
        actual,
        http: { status: httpStatus(ErrorCode.QUERY_TOO_COMPLEX) },
      },
    },
  );
}

/** graphql-armor's rules say "... limit of N exceeded, found M."; the error sent carries the numbers. */
const reportTo =
  (limit: Limit, max: number) =>
  (context: ValidationContext | null, error: GraphQLError): void => {
    const found = /found (\d+)/.exec(error.message)?.[1];
    context?.reportError(tooComplex(limit, max, found === undefined ? null : Number(found)));
  };

/**
 * Checked once per distinct document (Apollo caches validated documents): depth, aliases and
 * directives by graphql-armor's rules, and graphql-js's cap on nested introspection lists (a deep
 * `__schema { types { fields { type { fields ...` multiplies like nested lists do).
 */
export function limitRules(limits: Config['graphql']): ValidationRule[] {
  const armor = (limit: Limit, n: number) => ({ n, onReject: [reportTo(limit, n)], propagateOnRejection: false });
  return [
    maxDepthRule(armor('depth', limits.maxDepth)),
    maxAliasesRule(armor('aliases', limits.maxAliases)),
    maxDirectivesRule(armor('directives', limits.maxDirectives)),
    MaxIntrospectionDepthRule,
  ];
}

/** graphql-js's own message when a document has more than `maxTokens` tokens. */
const TOKEN_LIMIT = /contains more th(?:an|at) (\d+) tokens/;

/** The token limit is enforced while parsing (Apollo's parseOptions); its refusal is rewritten here. */
export function tokenLimitError(error: GraphQLError): GraphQLError | null {
  const max = TOKEN_LIMIT.exec(error.message)?.[1];
  if (max === undefined) return null;
  return tooComplex('tokens', Number(max), error.source ? countTokens(error.source) : null);
}

function countTokens(source: Source): number {
  const lexer = new Lexer(source);
  let n = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) n++;
  } catch {
    // A lexical error further on: what was counted so far is still more than the limit.
  }
  return n;
}

/**
 * A fact about a document, worked out once: Apollo hands back the same parsed document for the same
 * query text, so a WeakMap keeps it exactly as long as the document is cached.
 */
function perDocument(find: (document: DocumentNode) => boolean): (document: DocumentNode) => boolean {
  const known = new WeakMap<DocumentNode, boolean>();
  return (document) => {
    let value = known.get(document);
    if (value === undefined) known.set(document, (value = find(document)));
    return value;
  };
}

/** Whether a document reads the schema itself (`__schema`, `__type`), anywhere. */
const isIntrospection = perDocument((document) => {
  let found = false;
  visit(document, {
    Field(node) {
      if (node.name.value === '__schema' || node.name.value === '__type') found = true;
    },
  });
  return found;
});

/**
 * Arguments the cost model reads (cost.ts), and @include/@skip's `if` (the cost counts only what is
 * selected): only variables used in them change an operation's cost.
 */
const COSTED_ARGUMENTS = new Set(['first', 'images', 'if']);

/** Whether any variable appears inside such an argument, anywhere in the document. */
const costDependsOnVariables = perDocument((document) => {
  let varies = false;
  visit(document, {
    Argument(node) {
      if (!COSTED_ARGUMENTS.has(node.name.value)) return false;
      visit(node.value, {
        Variable() {
          varies = true;
        },
      });
      return false;
    },
  });
  return varies;
});

/** An operation, parsed and validated, as the per-operation checks see it. */
export interface CheckedOperation {
  document: DocumentNode;
  variables: Record<string, unknown>;
  operationName: string | undefined;
  actor: Actor;
}

/**
 * Per operation, with its variables: the cost limit (a page size or an image list can come from a
 * variable), and introspection only for callers with a key outside development. An operation whose
 * cost cannot depend on its variables (a predict with its image in a variable) is costed once per
 * document and operation name: Apollo hands back the same parsed document for the same query text.
 * Throws the refusal; Apollo's pipeline (operationLimits) and the WebSocket's (operations.ts) both run it.
 */
export function operationChecks(
  schema: GraphQLSchema,
  limits: Config['graphql'],
  development: boolean,
): (operation: CheckedOperation) => void {
  const estimators = [fieldExtensionsEstimator(), defaultCost];
  const fixedCosts = new WeakMap<DocumentNode, Map<string, number>>();
  const cost = (
    document: DocumentNode,
    variables: Record<string, unknown>,
    operationName: string | undefined,
  ): number => {
    const fixed = costDependsOnVariables(document) ? null : (fixedCosts.get(document) ?? new Map<string, number>());
    const known = fixed?.get(operationName ?? '');
    if (known !== undefined) return known;
    const computed = getComplexity({ schema, query: document, variables, operationName, estimators });
    if (fixed) fixedCosts.set(document, fixed.set(operationName ?? '', computed));
    return computed;
  };
  return ({ document, variables, operationName, actor }) => {
    if (!development && actor.kind === 'anonymous' && isIntrospection(document)) {
      throw new GraphQLError('introspection needs an API key: send "Authorization: Bearer <key>"', {
        extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: httpStatus(ErrorCode.UNAUTHENTICATED) } },
      });
    }
    let measured: number;
    try {
      measured = cost(document, variables, operationName);
    } catch (e) {
      // Variables that do not fit the operation: execution would refuse them the same way.
      throw new GraphQLError(e instanceof Error ? e.message : String(e), {
        extensions: { code: ErrorCode.BAD_USER_INPUT, http: { status: httpStatus(ErrorCode.BAD_USER_INPUT) } },
      });
    }
    if (measured > limits.maxCost) throw tooComplex('cost', limits.maxCost, measured);
  };
}

/** operationChecks() in Apollo's pipeline, once the operation is resolved. */
export function operationLimits(
  schema: GraphQLSchema,
  limits: Config['graphql'],
  development: boolean,
): ApolloServerPlugin<GraphQLContext> {
  const check = operationChecks(schema, limits, development);
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request, operationName, contextValue }) {
          check({
            document,
            variables: request.variables ?? {},
            operationName: operationName ?? undefined,
            actor: contextValue.actor,
          });
        },
      };
    },
  };
}
