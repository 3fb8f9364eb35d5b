-- CreateEnum
CREATE TYPE "JobStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED');

-- CreateTable
CREATE TABLE "Comparison" (
    "id" SERIAL NOT NULL,
    "status" "JobStatus" NOT NULL DEFAULT 'QUEUED',
    "baselineId" INTEGER NOT NULL,
    "candidateId" INTEGER NOT NULL,
    "datasetId" INTEGER NOT NULL,
    "options" JSONB NOT NULL DEFAULT '{}',
    "requestKey" TEXT NOT NULL,
    "total" INTEGER NOT NULL,
    "done" INTEGER NOT NULL DEFAULT 0,
    "elapsedMs" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "results" JSONB,
    "error" TEXT,
    "cancelRequested" BOOLEAN NOT NULL DEFAULT false,
    "leaseOwner" TEXT,
    "leaseUntil" TIMESTAMPTZ(3),
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMPTZ(3),
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Comparison_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ComparisonItem" (
    "comparisonId" INTEGER NOT NULL,
    "ordinal" INTEGER NOT NULL,
    "datasetItemId" INTEGER NOT NULL,
    "label" INTEGER NOT NULL,
    "baselineTop1" INTEGER NOT NULL,
    "candidateTop1" INTEGER NOT NULL,
    "baselineProbs" REAL[],
    "candidateProbs" REAL[],
    "baselineMs" DOUBLE PRECISION NOT NULL,
    "candidateMs" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "ComparisonItem_pkey" PRIMARY KEY ("comparisonId","ordinal")
);

-- CreateIndex
CREATE INDEX "Comparison_requestKey_idx" ON "Comparison"("requestKey");

-- CreateIndex
CREATE INDEX "Comparison_status_idx" ON "Comparison"("status");

-- AddForeignKey
ALTER TABLE "Comparison" ADD CONSTRAINT "Comparison_baselineId_fkey" FOREIGN KEY ("baselineId") REFERENCES "ModelVersion"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Comparison" ADD CONSTRAINT "Comparison_candidateId_fkey" FOREIGN KEY ("candidateId") REFERENCES "ModelVersion"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Comparison" ADD CONSTRAINT "Comparison_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ComparisonItem" ADD CONSTRAINT "ComparisonItem_comparisonId_fkey" FOREIGN KEY ("comparisonId") REFERENCES "Comparison"("id") ON DELETE CASCADE ON UPDATE CASCADE;
