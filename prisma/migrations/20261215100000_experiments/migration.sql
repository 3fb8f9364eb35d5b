-- Online A/B experiments: experiments and their arms, the prediction log, ground-truth feedback and
-- the per-arm series the charts draw. Experiments and arms carry change triggers: every gateway
-- routes on a cached copy of the running experiment and drops it when any process changes them.
ALTER TABLE "AliasEvent" ADD COLUMN "reason" TEXT;

CREATE TYPE "ExperimentMode" AS ENUM ('SPLIT', 'SHADOW');
CREATE TYPE "ExperimentStatus" AS ENUM ('RUNNING', 'STOPPED');
CREATE TYPE "ExperimentDecision" AS ENUM ('CONTINUE', 'CANDIDATE_BETTER', 'CONTROL_BETTER', 'GUARDRAIL_BREACHED', 'STOPPED');

CREATE TABLE "Experiment" (
    "id" SERIAL NOT NULL,
    "modelId" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "mode" "ExperimentMode" NOT NULL,
    "status" "ExperimentStatus" NOT NULL DEFAULT 'RUNNING',
    "decision" "ExperimentDecision" NOT NULL DEFAULT 'CONTINUE',
    "decisionReason" TEXT,
    "alpha" DOUBLE PRECISION NOT NULL,
    "minSamples" INTEGER NOT NULL,
    "maxErrorRate" DOUBLE PRECISION,
    "maxLatencyP99Ms" DOUBLE PRECISION,
    "guardrailMinRequests" INTEGER NOT NULL,
    "autoPromote" BOOLEAN NOT NULL DEFAULT false,
    "seed" INTEGER NOT NULL,
    "promotedVersion" INTEGER,
    "createdBy" TEXT NOT NULL,
    "startedAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "stoppedAt" TIMESTAMPTZ(3),
    "stoppedBy" TEXT,

    CONSTRAINT "Experiment_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "Experiment_modelId_startedAt_idx" ON "Experiment"("modelId", "startedAt");
-- One running experiment per model.
CREATE UNIQUE INDEX "Experiment_running_modelId_key" ON "Experiment"("modelId") WHERE "status" = 'RUNNING';
ALTER TABLE "Experiment" ADD CONSTRAINT "Experiment_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "Model"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "ExperimentArm" (
    "id" SERIAL NOT NULL,
    "experimentId" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "versionId" INTEGER NOT NULL,
    "weight" DOUBLE PRECISION NOT NULL,
    "isControl" BOOLEAN NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "stoppedReason" TEXT,
    "decision" "ExperimentDecision" NOT NULL DEFAULT 'CONTINUE',
    "feedbackCount" INTEGER NOT NULL DEFAULT 0,
    "correctCount" INTEGER NOT NULL DEFAULT 0,
    "test" JSONB,

    CONSTRAINT "ExperimentArm_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "ExperimentArm_experimentId_name_key" ON "ExperimentArm"("experimentId", "name");
CREATE INDEX "ExperimentArm_versionId_idx" ON "ExperimentArm"("versionId");
ALTER TABLE "ExperimentArm" ADD CONSTRAINT "ExperimentArm_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "ExperimentArm" ADD CONSTRAINT "ExperimentArm_versionId_fkey" FOREIGN KEY ("versionId") REFERENCES "ModelVersion"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "ExperimentPrediction" (
    "id" UUID NOT NULL,
    "groupId" UUID NOT NULL,
    "experimentId" INTEGER NOT NULL,
    "armId" INTEGER NOT NULL,
    "versionId" INTEGER NOT NULL,
    "shadow" BOOLEAN NOT NULL DEFAULT false,
    "routingKeyHash" TEXT,
    "topLabel" TEXT,
    "confidence" DOUBLE PRECISION,
    "latencyMs" DOUBLE PRECISION NOT NULL,
    "errorCode" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ExperimentPrediction_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "ExperimentPrediction_experimentId_armId_idx" ON "ExperimentPrediction"("experimentId", "armId");
CREATE INDEX "ExperimentPrediction_groupId_idx" ON "ExperimentPrediction"("groupId");
CREATE INDEX "ExperimentPrediction_createdAt_idx" ON "ExperimentPrediction"("createdAt");
-- No foreign keys on the log: they would double what writing a row costs (see schema.prisma).

CREATE TABLE "ExperimentFeedback" (
    "id" SERIAL NOT NULL,
    "predictionId" UUID NOT NULL,
    "experimentId" INTEGER NOT NULL,
    "label" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "processedAt" TIMESTAMPTZ(3),

    CONSTRAINT "ExperimentFeedback_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "ExperimentFeedback_predictionId_key" ON "ExperimentFeedback"("predictionId");
CREATE INDEX "ExperimentFeedback_experimentId_processedAt_idx" ON "ExperimentFeedback"("experimentId", "processedAt");
CREATE INDEX "ExperimentFeedback_createdAt_idx" ON "ExperimentFeedback"("createdAt");
ALTER TABLE "ExperimentFeedback" ADD CONSTRAINT "ExperimentFeedback_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "ExperimentPoint" (
    "id" SERIAL NOT NULL,
    "experimentId" INTEGER NOT NULL,
    "armId" INTEGER NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "feedback" INTEGER NOT NULL,
    "correct" INTEGER NOT NULL,
    "pValue" DOUBLE PRECISION,
    "csLow" DOUBLE PRECISION,
    "csHigh" DOUBLE PRECISION,

    CONSTRAINT "ExperimentPoint_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "ExperimentPoint_experimentId_at_idx" ON "ExperimentPoint"("experimentId", "at");
ALTER TABLE "ExperimentPoint" ADD CONSTRAINT "ExperimentPoint_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "ExperimentPoint" ADD CONSTRAINT "ExperimentPoint_armId_fkey" FOREIGN KEY ("armId") REFERENCES "ExperimentArm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TRIGGER "Experiment_registry_changed" AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF "status" ON "Experiment"
  FOR EACH STATEMENT EXECUTE FUNCTION "modelgate_registry_changed"();
CREATE TRIGGER "ExperimentArm_registry_changed" AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF "active", "weight", "versionId" ON "ExperimentArm"
  FOR EACH STATEMENT EXECUTE FUNCTION "modelgate_registry_changed"();
