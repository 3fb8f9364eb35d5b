import { getNamedType, isLeafType } from 'graphql';
import type { ComplexityEstimator, ComplexityEstimatorArgs } from 'graphql-query-complexity';
import type { Page } from '../common/paging';

/**
 * The cost model of an operation (GRAPHQL_MAX_COST): an object costs 1 and a scalar 0; a list
 * multiplies what each of its items costs by its page size (the `first` asked for, else the
 * default); one image through a model costs IMAGE_COST. So 80 aliased `predict` fields cost what a
 * `predictBatch` of 80 images does, and a few nested lists cannot ask for millions of rows.
 */
export const IMAGE_COST = 500;

type Cost = (args: ComplexityEstimatorArgs) => number;

/** A list field paged by `first`. */
export const listCost =
  (page: Page): Cost =>
  ({ args, childComplexity }) =>
    clampPage(args.first, page) * (1 + childComplexity);

/** A list field without paging arguments, bounded by `max` items (e.g. a batch's images). */
export const boundedListCost =
  (max: number): Cost =>
  ({ childComplexity }) =>
    max * (1 + childComplexity);

/** predict: one image and its result, as one item of predictBatch costs. */
export const imageCost: Cost = ({ childComplexity }) => IMAGE_COST + 1 + childComplexity;

/** predictBatch: per image, each with its own result. */
export const imagesCost: Cost = ({ args, childComplexity }) =>
  (Array.isArray(args.images) ? args.images.length : 1) * (IMAGE_COST + 1 + childComplexity);

/** Out-of-range `first` values are refused by the services; here they must only not lower the cost. */
function clampPage(first: unknown, page: Page): number {
  return typeof first === 'number' && Number.isFinite(first) ? Math.max(1, Math.min(first, page.max)) : page.default;
}

/** Fields without a cost of their own: objects 1, scalars and enums 0, plus what they select. */
export const defaultCost: ComplexityEstimator = ({ field, childComplexity }) =>
  (isLeafType(getNamedType(field.type)) ? 0 : 1) + childComplexity;
