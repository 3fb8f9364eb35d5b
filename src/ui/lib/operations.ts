import { graphql } from '../gql';

// Operations more than one page uses.

export const SetAlias = graphql(`
  mutation UiSetAlias($model: String!, $alias: String!, $version: Int!) {
    setAlias(model: $model, alias: $alias, version: $version) {
      name
      version {
        version
      }
    }
  }
`);

export const RemoveAlias = graphql(`
  mutation UiRemoveAlias($model: String!, $alias: String!) {
    removeAlias(model: $model, alias: $alias)
  }
`);

export const StartComparison = graphql(`
  mutation UiStartComparison($input: StartComparisonInput!) {
    startComparison(input: $input) {
      id
      status
    }
  }
`);

export const OptimizeVersion = graphql(`
  mutation UiOptimizeVersion($input: OptimizeVersionInput!) {
    optimizeVersion(input: $input) {
      id
      status
    }
  }
`);

export const RuntimeSettingsQuery = graphql(`
  query UiRuntimeSettings {
    runtime {
      pinnedAliases
      memoryBudgetMB
      executionProviders
    }
  }
`);

/** What the predict and comparison forms offer: models with their aliases and versions, and the datasets. */
export const ModelChoicesQuery = graphql(`
  query UiModelChoices {
    models(first: 100) {
      name
      aliases {
        name
        version {
          version
        }
      }
      versions(first: 100) {
        version
        status
      }
    }
    datasets(first: 100) {
      name
      version
      size
    }
  }
`);
