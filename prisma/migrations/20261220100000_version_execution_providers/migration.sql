-- A version's own execution-provider preference (setVersionExecutionProviders), e.g. a large graph on
-- the GPU and the small ones on the CPU. NULL or empty: the gateway's EXECUTION_PROVIDERS. The
-- ModelVersion change trigger already covers the column, so cached resolutions see a change at once.
ALTER TABLE "ModelVersion" ADD COLUMN "executionProviders" TEXT[];
