-- AlterTable
ALTER TABLE "MlflowRun" ADD COLUMN     "artifactUri" TEXT,
ADD COLUMN     "endTime" TIMESTAMPTZ(3),
ADD COLUMN     "startTime" TIMESTAMPTZ(3),
ADD COLUMN     "status" TEXT,
ADD COLUMN     "userId" TEXT;

-- CreateTable
CREATE TABLE "MlflowMetric" (
    "id" SERIAL NOT NULL,
    "runId" INTEGER NOT NULL,
    "key" TEXT NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "timestamp" BIGINT NOT NULL,
    "step" BIGINT NOT NULL,

    CONSTRAINT "MlflowMetric_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MlflowModelVersion" (
    "id" SERIAL NOT NULL,
    "trackingUri" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "source" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "stage" TEXT,
    "aliases" TEXT[],
    "description" TEXT,
    "runRowId" INTEGER,
    "modelVersionId" INTEGER,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "MlflowModelVersion_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "MlflowMetric_runId_key_step_idx" ON "MlflowMetric"("runId", "key", "step");

-- CreateIndex
CREATE INDEX "MlflowModelVersion_modelVersionId_idx" ON "MlflowModelVersion"("modelVersionId");

-- CreateIndex
CREATE UNIQUE INDEX "MlflowModelVersion_trackingUri_name_version_key" ON "MlflowModelVersion"("trackingUri", "name", "version");

-- AddForeignKey
ALTER TABLE "MlflowMetric" ADD CONSTRAINT "MlflowMetric_runId_fkey" FOREIGN KEY ("runId") REFERENCES "MlflowRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MlflowModelVersion" ADD CONSTRAINT "MlflowModelVersion_runRowId_fkey" FOREIGN KEY ("runRowId") REFERENCES "MlflowRun"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MlflowModelVersion" ADD CONSTRAINT "MlflowModelVersion_modelVersionId_fkey" FOREIGN KEY ("modelVersionId") REFERENCES "ModelVersion"("id") ON DELETE SET NULL ON UPDATE CASCADE;
