/* eslint-disable */
import * as types from './graphql';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation UiSetAlias($model: String!, $alias: String!, $version: Int!) {\n    setAlias(model: $model, alias: $alias, version: $version) {\n      name\n      version {\n        version\n      }\n    }\n  }\n": typeof types.UiSetAliasDocument,
    "\n  mutation UiRemoveAlias($model: String!, $alias: String!) {\n    removeAlias(model: $model, alias: $alias)\n  }\n": typeof types.UiRemoveAliasDocument,
    "\n  mutation UiStartComparison($input: StartComparisonInput!) {\n    startComparison(input: $input) {\n      id\n      status\n    }\n  }\n": typeof types.UiStartComparisonDocument,
    "\n  mutation UiOptimizeVersion($input: OptimizeVersionInput!) {\n    optimizeVersion(input: $input) {\n      id\n      status\n    }\n  }\n": typeof types.UiOptimizeVersionDocument,
    "\n  query UiRuntimeSettings {\n    runtime {\n      pinnedAliases\n      memoryBudgetMB\n      executionProviders\n    }\n  }\n": typeof types.UiRuntimeSettingsDocument,
    "\n  query UiModelChoices {\n    models(first: 100) {\n      name\n      aliases {\n        name\n        version {\n          version\n        }\n      }\n      versions(first: 100) {\n        version\n        status\n      }\n    }\n    datasets(first: 100) {\n      name\n      version\n      size\n    }\n  }\n": typeof types.UiModelChoicesDocument,
    "\n  fragment UiMetrics on VersionMetrics {\n    n\n    accuracy\n    macroF1\n    top5Accuracy\n    ece\n    nll\n    brier\n    meanConfidence\n    queuedLatencyMsP50\n    queuedLatencyMsP95\n    queuedThroughput\n    sizeBytes\n    parameters\n    speed {\n      batch1Ms\n      batch1Runs\n      batch32ImagesPerSecond\n      throughputBatchSize\n      executionProvider\n      threads\n      width\n      height\n      channels\n    }\n    confusionMatrix\n    perClass\n    reliability\n  }\n": typeof types.UiMetricsFragmentDoc,
    "\n  query UiComparison($id: ID!) {\n    comparison(id: $id) {\n      id\n      status\n      progress\n      itemsDone\n      total\n      etaSeconds\n      alpha\n      n\n      verdict\n      summary\n      error\n      nonInferior\n      nonInferiorityMargin\n      createdAt\n      finishedAt\n      accuracyDelta\n      accuracyDeltaCi95\n      macroF1Delta\n      macroF1DeltaCi95\n      mcnemarPValue\n      mcnemarMidP\n      agreement\n      discordantBaselineOnly\n      discordantCandidateOnly\n      candidate {\n        version\n        aliases\n        model {\n          name\n        }\n      }\n      baseline {\n        version\n        aliases\n      }\n      dataset {\n        name\n        version\n        labels\n      }\n      baselineMetrics {\n        ...UiMetrics\n      }\n      candidateMetrics {\n        ...UiMetrics\n      }\n      disagreements(first: 48) {\n        ordinal\n        path\n        label\n        baselineLabel\n        baselineProbability\n        candidateLabel\n        candidateProbability\n      }\n    }\n  }\n": typeof types.UiComparisonDocument,
    "\n  query UiComparisonReport($id: ID!, $format: ReportFormat!) {\n    comparison(id: $id) {\n      report(format: $format)\n    }\n  }\n": typeof types.UiComparisonReportDocument,
    "\n  mutation UiCancelComparison($id: ID!) {\n    cancelComparison(id: $id) {\n      id\n      status\n    }\n  }\n": typeof types.UiCancelComparisonDocument,
    "\n  query UiComparisons($model: String) {\n    comparisons(first: 50, model: $model) {\n      id\n      status\n      progress\n      itemsDone\n      total\n      verdict\n      accuracyDelta\n      createdAt\n      candidate {\n        version\n        model {\n          name\n        }\n      }\n      baseline {\n        version\n      }\n      dataset {\n        name\n        version\n      }\n    }\n  }\n": typeof types.UiComparisonsDocument,
    "\n  query UiDatasets {\n    datasets(first: 100) {\n      name\n      version\n      size\n      digest\n      labels\n      storageUri\n      createdAt\n      classCounts\n    }\n  }\n": typeof types.UiDatasetsDocument,
    "\n  fragment UiImportReport on ImportReport {\n    created\n    updated\n    unchanged\n    failed\n    items {\n      action\n      kind\n      name\n      version\n      reason\n    }\n  }\n": typeof types.UiImportReportFragmentDoc,
    "\n  mutation UiImportDvc($input: ImportDvcInput!) {\n    importDvc(input: $input) {\n      ...UiImportReport\n    }\n  }\n": typeof types.UiImportDvcDocument,
    "\n  mutation UiImportMlflow($input: ImportMlflowInput!) {\n    importMlflow(input: $input) {\n      ...UiImportReport\n    }\n  }\n": typeof types.UiImportMlflowDocument,
    "\n  query UiKeys {\n    apiKeys(first: 100) {\n      name\n      role\n      prefix\n      createdAt\n      lastUsedAt\n      revokedAt\n    }\n  }\n": typeof types.UiKeysDocument,
    "\n  mutation UiCreateKey($name: String!, $role: ApiKeyRole!) {\n    createApiKey(name: $name, role: $role) {\n      key\n      apiKey {\n        name\n        role\n      }\n    }\n  }\n": typeof types.UiCreateKeyDocument,
    "\n  mutation UiRevokeKey($name: String!) {\n    revokeApiKey(name: $name) {\n      name\n      revokedAt\n    }\n  }\n": typeof types.UiRevokeKeyDocument,
    "\n  query UiModel($name: String!) {\n    model(name: $name) {\n      name\n      description\n      task\n      labels\n      aliases {\n        name\n        updatedAt\n        version {\n          version\n        }\n      }\n      aliasHistory(first: 100) {\n        alias\n        fromVersion\n        toVersion\n        actor\n        createdAt\n      }\n      versions(first: 100) {\n        id\n        version\n        status\n        statusReason\n        aliases\n        sizeBytes\n        parameters\n        speed {\n          batch1Ms\n          width\n          height\n          channels\n          executionProvider\n          threads\n          measuredAt\n        }\n        createdAt\n        parent {\n          version\n        }\n        dvc {\n          path\n          rev\n        }\n        mlflowRun {\n          runId\n          runName\n          metrics\n        }\n      }\n    }\n    comparisons(model: $name, first: 50) {\n      id\n      status\n      finishedAt\n      candidate {\n        version\n      }\n      baseline {\n        version\n      }\n      dataset {\n        name\n        version\n      }\n      candidateMetrics {\n        accuracy\n      }\n      baselineMetrics {\n        accuracy\n      }\n    }\n  }\n": typeof types.UiModelDocument,
    "\n  query UiModels($search: String) {\n    models(first: 100, search: $search) {\n      name\n      description\n      task\n      labels\n      updatedAt\n      aliases {\n        name\n        version {\n          version\n        }\n      }\n      versions(first: 100) {\n        version\n        status\n        tags\n        createdAt\n      }\n    }\n  }\n": typeof types.UiModelsDocument,
    "\n  query UiPredictBatch($ref: VersionRefInput!, $images: [ImageInput!]!, $topK: Int) {\n    predictBatch(ref: $ref, images: $images, topK: $topK) {\n      resolvedBy\n      executionProvider\n      timingsMs\n      modelVersion {\n        version\n      }\n      top {\n        label\n        probability\n      }\n    }\n  }\n": typeof types.UiPredictBatchDocument,
    "\n  query UiRuntime {\n    runtime {\n      memoryBudgetMB\n      executionProviders\n      pinnedAliases\n    }\n    loadedVersions(first: 100) {\n      state\n      executionProvider\n      memoryMB\n      pinned\n      requests\n      lastUsed\n      loadedAt\n      loadMs\n      reason\n      maxBatchSize\n      modelVersion {\n        id\n        version\n        model {\n          name\n        }\n      }\n    }\n    models(first: 100) {\n      name\n      versions(first: 100) {\n        version\n        status\n      }\n    }\n  }\n": typeof types.UiRuntimeDocument,
    "\n  mutation UiLoadVersion($ref: VersionRefInput!) {\n    loadVersion(ref: $ref) {\n      state\n    }\n  }\n": typeof types.UiLoadVersionDocument,
    "\n  mutation UiUnloadVersion($ref: VersionRefInput!) {\n    unloadVersion(ref: $ref)\n  }\n": typeof types.UiUnloadVersionDocument,
    "\n  query UiVersion($ref: VersionRefInput!) {\n    modelVersion(ref: $ref) {\n      id\n      version\n      status\n      statusReason\n      artifactUri\n      format\n      md5\n      sha256\n      sizeBytes\n      parameters\n      speed {\n        batch1Ms\n        batch1Runs\n        batch32ImagesPerSecond\n        throughputBatchSize\n        executionProvider\n        threads\n        width\n        height\n        channels\n        measuredAt\n      }\n      createdAt\n      aliases\n      tags\n      signature\n      parent {\n        version\n      }\n      children {\n        version\n        status\n      }\n      derivation {\n        method\n        calibrationDataset\n        calibrationItems\n        calibrationMethod\n        tool\n        quantizedNodes\n        foldedDequantize\n        optimization {\n          id\n          comparison {\n            id\n            status\n            verdict\n            nonInferior\n          }\n        }\n      }\n      model {\n        name\n        inputSpec\n        labels\n      }\n      dvc {\n        repo\n        rev\n        path\n        md5\n        remote\n        dirty\n      }\n      mlflowRun {\n        runId\n        runName\n        experimentId\n        experimentName\n        status\n        startTime\n        endTime\n        params\n        metrics\n        tags\n        trackingUri\n        metricHistory(first: 1000) {\n          key\n          step\n          value\n        }\n      }\n    }\n    loadedVersions(first: 100) {\n      state\n      executionProvider\n      memoryMB\n      requests\n      lastUsed\n      reason\n      modelVersion {\n        id\n      }\n    }\n    datasets(first: 100) {\n      name\n      version\n      size\n    }\n  }\n": typeof types.UiVersionDocument,
};
const documents: Documents = {
    "\n  mutation UiSetAlias($model: String!, $alias: String!, $version: Int!) {\n    setAlias(model: $model, alias: $alias, version: $version) {\n      name\n      version {\n        version\n      }\n    }\n  }\n": types.UiSetAliasDocument,
    "\n  mutation UiRemoveAlias($model: String!, $alias: String!) {\n    removeAlias(model: $model, alias: $alias)\n  }\n": types.UiRemoveAliasDocument,
    "\n  mutation UiStartComparison($input: StartComparisonInput!) {\n    startComparison(input: $input) {\n      id\n      status\n    }\n  }\n": types.UiStartComparisonDocument,
    "\n  mutation UiOptimizeVersion($input: OptimizeVersionInput!) {\n    optimizeVersion(input: $input) {\n      id\n      status\n    }\n  }\n": types.UiOptimizeVersionDocument,
    "\n  query UiRuntimeSettings {\n    runtime {\n      pinnedAliases\n      memoryBudgetMB\n      executionProviders\n    }\n  }\n": types.UiRuntimeSettingsDocument,
    "\n  query UiModelChoices {\n    models(first: 100) {\n      name\n      aliases {\n        name\n        version {\n          version\n        }\n      }\n      versions(first: 100) {\n        version\n        status\n      }\n    }\n    datasets(first: 100) {\n      name\n      version\n      size\n    }\n  }\n": types.UiModelChoicesDocument,
    "\n  fragment UiMetrics on VersionMetrics {\n    n\n    accuracy\n    macroF1\n    top5Accuracy\n    ece\n    nll\n    brier\n    meanConfidence\n    queuedLatencyMsP50\n    queuedLatencyMsP95\n    queuedThroughput\n    sizeBytes\n    parameters\n    speed {\n      batch1Ms\n      batch1Runs\n      batch32ImagesPerSecond\n      throughputBatchSize\n      executionProvider\n      threads\n      width\n      height\n      channels\n    }\n    confusionMatrix\n    perClass\n    reliability\n  }\n": types.UiMetricsFragmentDoc,
    "\n  query UiComparison($id: ID!) {\n    comparison(id: $id) {\n      id\n      status\n      progress\n      itemsDone\n      total\n      etaSeconds\n      alpha\n      n\n      verdict\n      summary\n      error\n      nonInferior\n      nonInferiorityMargin\n      createdAt\n      finishedAt\n      accuracyDelta\n      accuracyDeltaCi95\n      macroF1Delta\n      macroF1DeltaCi95\n      mcnemarPValue\n      mcnemarMidP\n      agreement\n      discordantBaselineOnly\n      discordantCandidateOnly\n      candidate {\n        version\n        aliases\n        model {\n          name\n        }\n      }\n      baseline {\n        version\n        aliases\n      }\n      dataset {\n        name\n        version\n        labels\n      }\n      baselineMetrics {\n        ...UiMetrics\n      }\n      candidateMetrics {\n        ...UiMetrics\n      }\n      disagreements(first: 48) {\n        ordinal\n        path\n        label\n        baselineLabel\n        baselineProbability\n        candidateLabel\n        candidateProbability\n      }\n    }\n  }\n": types.UiComparisonDocument,
    "\n  query UiComparisonReport($id: ID!, $format: ReportFormat!) {\n    comparison(id: $id) {\n      report(format: $format)\n    }\n  }\n": types.UiComparisonReportDocument,
    "\n  mutation UiCancelComparison($id: ID!) {\n    cancelComparison(id: $id) {\n      id\n      status\n    }\n  }\n": types.UiCancelComparisonDocument,
    "\n  query UiComparisons($model: String) {\n    comparisons(first: 50, model: $model) {\n      id\n      status\n      progress\n      itemsDone\n      total\n      verdict\n      accuracyDelta\n      createdAt\n      candidate {\n        version\n        model {\n          name\n        }\n      }\n      baseline {\n        version\n      }\n      dataset {\n        name\n        version\n      }\n    }\n  }\n": types.UiComparisonsDocument,
    "\n  query UiDatasets {\n    datasets(first: 100) {\n      name\n      version\n      size\n      digest\n      labels\n      storageUri\n      createdAt\n      classCounts\n    }\n  }\n": types.UiDatasetsDocument,
    "\n  fragment UiImportReport on ImportReport {\n    created\n    updated\n    unchanged\n    failed\n    items {\n      action\n      kind\n      name\n      version\n      reason\n    }\n  }\n": types.UiImportReportFragmentDoc,
    "\n  mutation UiImportDvc($input: ImportDvcInput!) {\n    importDvc(input: $input) {\n      ...UiImportReport\n    }\n  }\n": types.UiImportDvcDocument,
    "\n  mutation UiImportMlflow($input: ImportMlflowInput!) {\n    importMlflow(input: $input) {\n      ...UiImportReport\n    }\n  }\n": types.UiImportMlflowDocument,
    "\n  query UiKeys {\n    apiKeys(first: 100) {\n      name\n      role\n      prefix\n      createdAt\n      lastUsedAt\n      revokedAt\n    }\n  }\n": types.UiKeysDocument,
    "\n  mutation UiCreateKey($name: String!, $role: ApiKeyRole!) {\n    createApiKey(name: $name, role: $role) {\n      key\n      apiKey {\n        name\n        role\n      }\n    }\n  }\n": types.UiCreateKeyDocument,
    "\n  mutation UiRevokeKey($name: String!) {\n    revokeApiKey(name: $name) {\n      name\n      revokedAt\n    }\n  }\n": types.UiRevokeKeyDocument,
    "\n  query UiModel($name: String!) {\n    model(name: $name) {\n      name\n      description\n      task\n      labels\n      aliases {\n        name\n        updatedAt\n        version {\n          version\n        }\n      }\n      aliasHistory(first: 100) {\n        alias\n        fromVersion\n        toVersion\n        actor\n        createdAt\n      }\n      versions(first: 100) {\n        id\n        version\n        status\n        statusReason\n        aliases\n        sizeBytes\n        parameters\n        speed {\n          batch1Ms\n          width\n          height\n          channels\n          executionProvider\n          threads\n          measuredAt\n        }\n        createdAt\n        parent {\n          version\n        }\n        dvc {\n          path\n          rev\n        }\n        mlflowRun {\n          runId\n          runName\n          metrics\n        }\n      }\n    }\n    comparisons(model: $name, first: 50) {\n      id\n      status\n      finishedAt\n      candidate {\n        version\n      }\n      baseline {\n        version\n      }\n      dataset {\n        name\n        version\n      }\n      candidateMetrics {\n        accuracy\n      }\n      baselineMetrics {\n        accuracy\n      }\n    }\n  }\n": types.UiModelDocument,
    "\n  query UiModels($search: String) {\n    models(first: 100, search: $search) {\n      name\n      description\n      task\n      labels\n      updatedAt\n      aliases {\n        name\n        version {\n          version\n        }\n      }\n      versions(first: 100) {\n        version\n        status\n        tags\n        createdAt\n      }\n    }\n  }\n": types.UiModelsDocument,
    "\n  query UiPredictBatch($ref: VersionRefInput!, $images: [ImageInput!]!, $topK: Int) {\n    predictBatch(ref: $ref, images: $images, topK: $topK) {\n      resolvedBy\n      executionProvider\n      timingsMs\n      modelVersion {\n        version\n      }\n      top {\n        label\n        probability\n      }\n    }\n  }\n": types.UiPredictBatchDocument,
    "\n  query UiRuntime {\n    runtime {\n      memoryBudgetMB\n      executionProviders\n      pinnedAliases\n    }\n    loadedVersions(first: 100) {\n      state\n      executionProvider\n      memoryMB\n      pinned\n      requests\n      lastUsed\n      loadedAt\n      loadMs\n      reason\n      maxBatchSize\n      modelVersion {\n        id\n        version\n        model {\n          name\n        }\n      }\n    }\n    models(first: 100) {\n      name\n      versions(first: 100) {\n        version\n        status\n      }\n    }\n  }\n": types.UiRuntimeDocument,
    "\n  mutation UiLoadVersion($ref: VersionRefInput!) {\n    loadVersion(ref: $ref) {\n      state\n    }\n  }\n": types.UiLoadVersionDocument,
    "\n  mutation UiUnloadVersion($ref: VersionRefInput!) {\n    unloadVersion(ref: $ref)\n  }\n": types.UiUnloadVersionDocument,
    "\n  query UiVersion($ref: VersionRefInput!) {\n    modelVersion(ref: $ref) {\n      id\n      version\n      status\n      statusReason\n      artifactUri\n      format\n      md5\n      sha256\n      sizeBytes\n      parameters\n      speed {\n        batch1Ms\n        batch1Runs\n        batch32ImagesPerSecond\n        throughputBatchSize\n        executionProvider\n        threads\n        width\n        height\n        channels\n        measuredAt\n      }\n      createdAt\n      aliases\n      tags\n      signature\n      parent {\n        version\n      }\n      children {\n        version\n        status\n      }\n      derivation {\n        method\n        calibrationDataset\n        calibrationItems\n        calibrationMethod\n        tool\n        quantizedNodes\n        foldedDequantize\n        optimization {\n          id\n          comparison {\n            id\n            status\n            verdict\n            nonInferior\n          }\n        }\n      }\n      model {\n        name\n        inputSpec\n        labels\n      }\n      dvc {\n        repo\n        rev\n        path\n        md5\n        remote\n        dirty\n      }\n      mlflowRun {\n        runId\n        runName\n        experimentId\n        experimentName\n        status\n        startTime\n        endTime\n        params\n        metrics\n        tags\n        trackingUri\n        metricHistory(first: 1000) {\n          key\n          step\n          value\n        }\n      }\n    }\n    loadedVersions(first: 100) {\n      state\n      executionProvider\n      memoryMB\n      requests\n      lastUsed\n      reason\n      modelVersion {\n        id\n      }\n    }\n    datasets(first: 100) {\n      name\n      version\n      size\n    }\n  }\n": types.UiVersionDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UiSetAlias($model: String!, $alias: String!, $version: Int!) {\n    setAlias(model: $model, alias: $alias, version: $version) {\n      name\n      version {\n        version\n      }\n    }\n  }\n"): typeof import('./graphql').UiSetAliasDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UiRemoveAlias($model: String!, $alias: String!) {\n    removeAlias(model: $model, alias: $alias)\n  }\n"): typeof import('./graphql').UiRemoveAliasDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UiStartComparison($input: StartComparisonInput!) {\n    startComparison(input: $input) {\n      id\n      status\n    }\n  }\n"): typeof import('./graphql').UiStartComparisonDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UiOptimizeVersion($input: OptimizeVersionInput!) {\n    optimizeVersion(input: $input) {\n      id\n      status\n    }\n  }\n"): typeof import('./graphql').UiOptimizeVersionDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query UiRuntimeSettings {\n    runtime {\n      pinnedAliases\n      memoryBudgetMB\n      executionProviders\n    }\n  }\n"): typeof import('./graphql').UiRuntimeSettingsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query UiModelChoices {\n    models(first: 100) {\n      name\n      aliases {\n        name\n        version {\n          version\n        }\n      }\n      versions(first: 100) {\n        version\n        status\n      }\n    }\n    datasets(first: 100) {\n      name\n      version\n      size\n    }\n  }\n"): typeof import('./graphql').UiModelChoicesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment UiMetrics on VersionMetrics {\n    n\n    accuracy\n    macroF1\n    top5Accuracy\n    ece\n    nll\n    brier\n    meanConfidence\n    queuedLatencyMsP50\n    queuedLatencyMsP95\n    queuedThroughput\n    sizeBytes\n    parameters\n    speed {\n      batch1Ms\n      batch1Runs\n      batch32ImagesPerSecond\n      throughputBatchSize\n      executionProvider\n      threads\n      width\n      height\n      channels\n    }\n    confusionMatrix\n    perClass\n    reliability\n  }\n"): typeof import('./graphql').UiMetricsFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query UiComparison($id: ID!) {\n    comparison(id: $id) {\n      id\n      status\n      progress\n      itemsDone\n      total\n      etaSeconds\n      alpha\n      n\n      verdict\n      summary\n      error\n      nonInferior\n      nonInferiorityMargin\n      createdAt\n      finishedAt\n      accuracyDelta\n      accuracyDeltaCi95\n      macroF1Delta\n      macroF1DeltaCi95\n      mcnemarPValue\n      mcnemarMidP\n      agreement\n      discordantBaselineOnly\n      discordantCandidateOnly\n      candidate {\n        version\n        aliases\n        model {\n          name\n        }\n      }\n      baseline {\n        version\n        aliases\n      }\n      dataset {\n        name\n        version\n        labels\n      }\n      baselineMetrics {\n        ...UiMetrics\n      }\n      candidateMetrics {\n        ...UiMetrics\n      }\n      disagreements(first: 48) {\n        ordinal\n        path\n        label\n        baselineLabel\n        baselineProbability\n        candidateLabel\n        candidateProbability\n      }\n    }\n  }\n"): typeof import('./graphql').UiComparisonDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query UiComparisonReport($id: ID!, $format: ReportFormat!) {\n    comparison(id: $id) {\n      report(format: $format)\n    }\n  }\n"): typeof import('./graphql').UiComparisonReportDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UiCancelComparison($id: ID!) {\n    cancelComparison(id: $id) {\n      id\n      status\n    }\n  }\n"): typeof import('./graphql').UiCancelComparisonDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query UiComparisons($model: String) {\n    comparisons(first: 50, model: $model) {\n      id\n      status\n      progress\n      itemsDone\n      total\n      verdict\n      accuracyDelta\n      createdAt\n      candidate {\n        version\n        model {\n          name\n        }\n      }\n      baseline {\n        version\n      }\n      dataset {\n        name\n        version\n      }\n    }\n  }\n"): typeof import('./graphql').UiComparisonsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query UiDatasets {\n    datasets(first: 100) {\n      name\n      version\n      size\n      digest\n      labels\n      storageUri\n      createdAt\n      classCounts\n    }\n  }\n"): typeof import('./graphql').UiDatasetsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment UiImportReport on ImportReport {\n    created\n    updated\n    unchanged\n    failed\n    items {\n      action\n      kind\n      name\n      version\n      reason\n    }\n  }\n"): typeof import('./graphql').UiImportReportFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UiImportDvc($input: ImportDvcInput!) {\n    importDvc(input: $input) {\n      ...UiImportReport\n    }\n  }\n"): typeof import('./graphql').UiImportDvcDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UiImportMlflow($input: ImportMlflowInput!) {\n    importMlflow(input: $input) {\n      ...UiImportReport\n    }\n  }\n"): typeof import('./graphql').UiImportMlflowDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query UiKeys {\n    apiKeys(first: 100) {\n      name\n      role\n      prefix\n      createdAt\n      lastUsedAt\n      revokedAt\n    }\n  }\n"): typeof import('./graphql').UiKeysDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UiCreateKey($name: String!, $role: ApiKeyRole!) {\n    createApiKey(name: $name, role: $role) {\n      key\n      apiKey {\n        name\n        role\n      }\n    }\n  }\n"): typeof import('./graphql').UiCreateKeyDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UiRevokeKey($name: String!) {\n    revokeApiKey(name: $name) {\n      name\n      revokedAt\n    }\n  }\n"): typeof import('./graphql').UiRevokeKeyDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query UiModel($name: String!) {\n    model(name: $name) {\n      name\n      description\n      task\n      labels\n      aliases {\n        name\n        updatedAt\n        version {\n          version\n        }\n      }\n      aliasHistory(first: 100) {\n        alias\n        fromVersion\n        toVersion\n        actor\n        createdAt\n      }\n      versions(first: 100) {\n        id\n        version\n        status\n        statusReason\n        aliases\n        sizeBytes\n        parameters\n        speed {\n          batch1Ms\n          width\n          height\n          channels\n          executionProvider\n          threads\n          measuredAt\n        }\n        createdAt\n        parent {\n          version\n        }\n        dvc {\n          path\n          rev\n        }\n        mlflowRun {\n          runId\n          runName\n          metrics\n        }\n      }\n    }\n    comparisons(model: $name, first: 50) {\n      id\n      status\n      finishedAt\n      candidate {\n        version\n      }\n      baseline {\n        version\n      }\n      dataset {\n        name\n        version\n      }\n      candidateMetrics {\n        accuracy\n      }\n      baselineMetrics {\n        accuracy\n      }\n    }\n  }\n"): typeof import('./graphql').UiModelDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query UiModels($search: String) {\n    models(first: 100, search: $search) {\n      name\n      description\n      task\n      labels\n      updatedAt\n      aliases {\n        name\n        version {\n          version\n        }\n      }\n      versions(first: 100) {\n        version\n        status\n        tags\n        createdAt\n      }\n    }\n  }\n"): typeof import('./graphql').UiModelsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query UiPredictBatch($ref: VersionRefInput!, $images: [ImageInput!]!, $topK: Int) {\n    predictBatch(ref: $ref, images: $images, topK: $topK) {\n      resolvedBy\n      executionProvider\n      timingsMs\n      modelVersion {\n        version\n      }\n      top {\n        label\n        probability\n      }\n    }\n  }\n"): typeof import('./graphql').UiPredictBatchDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query UiRuntime {\n    runtime {\n      memoryBudgetMB\n      executionProviders\n      pinnedAliases\n    }\n    loadedVersions(first: 100) {\n      state\n      executionProvider\n      memoryMB\n      pinned\n      requests\n      lastUsed\n      loadedAt\n      loadMs\n      reason\n      maxBatchSize\n      modelVersion {\n        id\n        version\n        model {\n          name\n        }\n      }\n    }\n    models(first: 100) {\n      name\n      versions(first: 100) {\n        version\n        status\n      }\n    }\n  }\n"): typeof import('./graphql').UiRuntimeDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UiLoadVersion($ref: VersionRefInput!) {\n    loadVersion(ref: $ref) {\n      state\n    }\n  }\n"): typeof import('./graphql').UiLoadVersionDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UiUnloadVersion($ref: VersionRefInput!) {\n    unloadVersion(ref: $ref)\n  }\n"): typeof import('./graphql').UiUnloadVersionDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query UiVersion($ref: VersionRefInput!) {\n    modelVersion(ref: $ref) {\n      id\n      version\n      status\n      statusReason\n      artifactUri\n      format\n      md5\n      sha256\n      sizeBytes\n      parameters\n      speed {\n        batch1Ms\n        batch1Runs\n        batch32ImagesPerSecond\n        throughputBatchSize\n        executionProvider\n        threads\n        width\n        height\n        channels\n        measuredAt\n      }\n      createdAt\n      aliases\n      tags\n      signature\n      parent {\n        version\n      }\n      children {\n        version\n        status\n      }\n      derivation {\n        method\n        calibrationDataset\n        calibrationItems\n        calibrationMethod\n        tool\n        quantizedNodes\n        foldedDequantize\n        optimization {\n          id\n          comparison {\n            id\n            status\n            verdict\n            nonInferior\n          }\n        }\n      }\n      model {\n        name\n        inputSpec\n        labels\n      }\n      dvc {\n        repo\n        rev\n        path\n        md5\n        remote\n        dirty\n      }\n      mlflowRun {\n        runId\n        runName\n        experimentId\n        experimentName\n        status\n        startTime\n        endTime\n        params\n        metrics\n        tags\n        trackingUri\n        metricHistory(first: 1000) {\n          key\n          step\n          value\n        }\n      }\n    }\n    loadedVersions(first: 100) {\n      state\n      executionProvider\n      memoryMB\n      requests\n      lastUsed\n      reason\n      modelVersion {\n        id\n      }\n    }\n    datasets(first: 100) {\n      name\n      version\n      size\n    }\n  }\n"): typeof import('./graphql').UiVersionDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
