-- CreateEnum
CREATE TYPE "VersionStatus" AS ENUM ('PENDING', 'READY', 'FAILED', 'ARCHIVED');

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('viewer', 'operator', 'admin');

-- CreateTable
CREATE TABLE "Model" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "task" TEXT NOT NULL DEFAULT 'image-classification',
    "description" TEXT,
    "labels" TEXT[],
    "inputSpec" JSONB NOT NULL,
    "lastVersion" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Model_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ModelVersion" (
    "id" SERIAL NOT NULL,
    "modelId" INTEGER NOT NULL,
    "version" INTEGER NOT NULL,
    "status" "VersionStatus" NOT NULL DEFAULT 'PENDING',
    "statusReason" TEXT,
    "format" TEXT NOT NULL DEFAULT 'onnx',
    "artifactUri" TEXT NOT NULL,
    "localPath" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "md5" TEXT NOT NULL,
    "sizeBytes" BIGINT NOT NULL,
    "signature" JSONB NOT NULL DEFAULT '{}',
    "tags" JSONB NOT NULL DEFAULT '{}',
    "parentId" INTEGER,
    "mlflowRunId" INTEGER,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ModelVersion_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DvcProvenance" (
    "id" SERIAL NOT NULL,
    "versionId" INTEGER NOT NULL,
    "repo" TEXT NOT NULL,
    "rev" TEXT,
    "path" TEXT NOT NULL,
    "md5" TEXT NOT NULL,
    "remote" TEXT,
    "dirty" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DvcProvenance_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MlflowRun" (
    "id" SERIAL NOT NULL,
    "trackingUri" TEXT NOT NULL,
    "experimentId" TEXT NOT NULL,
    "experimentName" TEXT,
    "runId" TEXT NOT NULL,
    "runName" TEXT,
    "params" JSONB NOT NULL DEFAULT '{}',
    "metrics" JSONB NOT NULL DEFAULT '{}',
    "tags" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "MlflowRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Alias" (
    "id" SERIAL NOT NULL,
    "modelId" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "versionId" INTEGER NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Alias_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AliasEvent" (
    "id" SERIAL NOT NULL,
    "modelId" INTEGER NOT NULL,
    "alias" TEXT NOT NULL,
    "fromVersion" INTEGER,
    "toVersion" INTEGER,
    "actor" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AliasEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Dataset" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "labels" TEXT[],
    "itemCount" INTEGER NOT NULL,
    "digest" TEXT NOT NULL,
    "storageUri" TEXT NOT NULL,
    "provenance" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Dataset_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DatasetItem" (
    "id" SERIAL NOT NULL,
    "datasetId" INTEGER NOT NULL,
    "ordinal" INTEGER NOT NULL,
    "path" TEXT NOT NULL,
    "labelIndex" INTEGER NOT NULL,
    "sha256" TEXT NOT NULL,

    CONSTRAINT "DatasetItem_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Model_name_key" ON "Model"("name");

-- CreateIndex
CREATE INDEX "ModelVersion_sha256_idx" ON "ModelVersion"("sha256");

-- CreateIndex
CREATE INDEX "ModelVersion_mlflowRunId_idx" ON "ModelVersion"("mlflowRunId");

-- CreateIndex
CREATE INDEX "ModelVersion_parentId_idx" ON "ModelVersion"("parentId");

-- CreateIndex
CREATE UNIQUE INDEX "ModelVersion_modelId_version_key" ON "ModelVersion"("modelId", "version");

-- CreateIndex
CREATE UNIQUE INDEX "ModelVersion_id_modelId_key" ON "ModelVersion"("id", "modelId");

-- CreateIndex
CREATE UNIQUE INDEX "DvcProvenance_versionId_key" ON "DvcProvenance"("versionId");

-- CreateIndex
CREATE UNIQUE INDEX "MlflowRun_trackingUri_runId_key" ON "MlflowRun"("trackingUri", "runId");

-- CreateIndex
CREATE INDEX "Alias_versionId_idx" ON "Alias"("versionId");

-- CreateIndex
CREATE UNIQUE INDEX "Alias_modelId_name_key" ON "Alias"("modelId", "name");

-- CreateIndex
CREATE INDEX "AliasEvent_modelId_alias_createdAt_idx" ON "AliasEvent"("modelId", "alias", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Dataset_name_version_key" ON "Dataset"("name", "version");

-- CreateIndex
CREATE UNIQUE INDEX "DatasetItem_datasetId_ordinal_key" ON "DatasetItem"("datasetId", "ordinal");

-- CreateIndex
CREATE UNIQUE INDEX "DatasetItem_datasetId_path_key" ON "DatasetItem"("datasetId", "path");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_name_key" ON "ApiKey"("name");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_prefix_key" ON "ApiKey"("prefix");

-- AddForeignKey
ALTER TABLE "ModelVersion" ADD CONSTRAINT "ModelVersion_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelVersion" ADD CONSTRAINT "ModelVersion_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "ModelVersion"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ModelVersion" ADD CONSTRAINT "ModelVersion_mlflowRunId_fkey" FOREIGN KEY ("mlflowRunId") REFERENCES "MlflowRun"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DvcProvenance" ADD CONSTRAINT "DvcProvenance_versionId_fkey" FOREIGN KEY ("versionId") REFERENCES "ModelVersion"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Alias" ADD CONSTRAINT "Alias_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Alias" ADD CONSTRAINT "Alias_versionId_modelId_fkey" FOREIGN KEY ("versionId", "modelId") REFERENCES "ModelVersion"("id", "modelId") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AliasEvent" ADD CONSTRAINT "AliasEvent_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DatasetItem" ADD CONSTRAINT "DatasetItem_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset"("id") ON DELETE CASCADE ON UPDATE CASCADE;
