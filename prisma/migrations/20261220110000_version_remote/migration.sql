-- A version served by a remote engine over the Open Inference Protocol v2 (Triton, KServe) instead
-- of the local runtime: its URL, remote model name and version, wire format and timeout
-- (src/registry/remote-backend.ts). NULL: the local runtime serves it.
ALTER TABLE "ModelVersion" ADD COLUMN "remote" JSONB;
