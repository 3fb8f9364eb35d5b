-- Keys registered from ADMIN_API_KEY are marked, so that setting a new value revokes the previous
-- one. Keys the earlier code registered under a fresh name ("admin-env-<ms>") came from it too.
ALTER TABLE "ApiKey" ADD COLUMN "fromEnv" BOOLEAN NOT NULL DEFAULT false;
UPDATE "ApiKey" SET "fromEnv" = true WHERE "name" LIKE 'admin-env-%';

-- At most one active (queued or running, not being cancelled) comparison per request key: two
-- identical startComparison calls at the same instant create one job, and the loser is handed it.
-- Prisma's schema language cannot state a partial index, so it lives here only (the migrations
-- test checks it by name). Identical active jobs an earlier race created are asked to cancel first.
UPDATE "Comparison" c SET "cancelRequested" = true
WHERE c."status" IN ('QUEUED', 'RUNNING') AND NOT c."cancelRequested"
  AND EXISTS (SELECT 1 FROM "Comparison" o WHERE o."requestKey" = c."requestKey" AND o."id" < c."id"
              AND o."status" IN ('QUEUED', 'RUNNING') AND NOT o."cancelRequested");
CREATE UNIQUE INDEX "Comparison_active_requestKey_key" ON "Comparison"("requestKey")
  WHERE "status" IN ('QUEUED', 'RUNNING') AND NOT "cancelRequested";
