import { graphql } from '../gql';

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

export const RuntimeSettingsQuery = graphql(`
  query UiRuntimeSettings {
    runtime {
      pinnedAliases
      memoryBudgetMB
      executionProviders
    }
  }
`);
