-- Derived versions (optimizeVersion): how a version was made from its parent, and the durable job
-- that makes one.
ALTER TABLE "ModelVersion" ADD COLUMN "derivation" JSONB;

-- CreateEnum
CREATE TYPE "OptimizationPhase" AS ENUM ('CALIBRATING', 'QUANTIZING', 'REGISTERING', 'COMPARING', 'DONE');

-- CreateTable
CREATE TABLE "Optimization" (
    "id" SERIAL NOT NULL,
    "status" "JobStatus" NOT NULL DEFAULT 'QUEUED',
    "phase" "OptimizationPhase" NOT NULL DEFAULT 'CALIBRATING',
    "sourceId" INTEGER NOT NULL,
    "datasetId" INTEGER NOT NULL,
    "options" JSONB NOT NULL DEFAULT '{}',
    "requestKey" TEXT NOT NULL,
    "total" INTEGER NOT NULL,
    "done" INTEGER NOT NULL DEFAULT 0,
    "derivedSha256" TEXT,
    "derivation" JSONB,
    "derivedId" INTEGER,
    "comparisonId" INTEGER,
    "results" JSONB,
    "error" TEXT,
    "cancelRequested" BOOLEAN NOT NULL DEFAULT false,
    "leaseOwner" TEXT,
    "leaseUntil" TIMESTAMPTZ(3),
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMPTZ(3),
    "finishedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Optimization_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Optimization_requestKey_idx" ON "Optimization"("requestKey");

-- CreateIndex
CREATE INDEX "Optimization_status_idx" ON "Optimization"("status");

-- CreateIndex
CREATE INDEX "Optimization_sourceId_idx" ON "Optimization"("sourceId");

-- One active (queued or running, not being cancelled) optimization per request key, as for comparisons.
CREATE UNIQUE INDEX "Optimization_active_requestKey_key" ON "Optimization"("requestKey")
  WHERE "status" IN ('QUEUED', 'RUNNING') AND NOT "cancelRequested";

-- AddForeignKey
ALTER TABLE "Optimization" ADD CONSTRAINT "Optimization_sourceId_fkey" FOREIGN KEY ("sourceId") REFERENCES "ModelVersion"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Optimization" ADD CONSTRAINT "Optimization_derivedId_fkey" FOREIGN KEY ("derivedId") REFERENCES "ModelVersion"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Optimization" ADD CONSTRAINT "Optimization_datasetId_fkey" FOREIGN KEY ("datasetId") REFERENCES "Dataset"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Optimization" ADD CONSTRAINT "Optimization_comparisonId_fkey" FOREIGN KEY ("comparisonId") REFERENCES "Comparison"("id") ON DELETE SET NULL ON UPDATE CASCADE;
