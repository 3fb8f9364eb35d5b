-- Speed and size in every comparison: a version's parameter count (counted at registration, filled
-- in later for older versions) and its speed measured in isolation, the latest measurement per input
-- size, execution provider and thread count. No change trigger: speed is read, never cached.
ALTER TABLE "ModelVersion" ADD COLUMN "parameterCount" BIGINT;

CREATE TABLE "VersionSpeed" (
    "id" SERIAL NOT NULL,
    "versionId" INTEGER NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "channels" INTEGER NOT NULL,
    "layout" TEXT NOT NULL,
    "executionProvider" TEXT NOT NULL,
    "threads" INTEGER NOT NULL,
    "batch1Ms" DOUBLE PRECISION NOT NULL,
    "batch1Runs" INTEGER NOT NULL,
    "batch32ImagesPerSecond" DOUBLE PRECISION NOT NULL,
    "batch32Runs" INTEGER NOT NULL,
    "throughputBatchSize" INTEGER NOT NULL,
    "comparisonId" INTEGER,
    "measuredAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "VersionSpeed_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "VersionSpeed_setting_key" ON "VersionSpeed"("versionId", "width", "height", "channels", "layout", "executionProvider", "threads");
CREATE INDEX "VersionSpeed_versionId_measuredAt_idx" ON "VersionSpeed"("versionId", "measuredAt");

ALTER TABLE "VersionSpeed" ADD CONSTRAINT "VersionSpeed_versionId_fkey" FOREIGN KEY ("versionId") REFERENCES "ModelVersion"("id") ON DELETE CASCADE ON UPDATE CASCADE;
