-- Every committed change to what a request resolves (API keys, models, versions, aliases) is
-- announced on the channel "modelgate_registry", so that each gateway can cache those rows and drop
-- its cache when any process changes them (src/db/change-feed.ts). Notifications are sent at
-- commit, once per table and transaction. Recording an API key's use (lastUsedAt) is not a change.
CREATE FUNCTION "modelgate_registry_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('modelgate_registry', TG_TABLE_NAME);
  RETURN NULL;
END
$$;

CREATE TRIGGER "ApiKey_registry_changed" AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF "name", "prefix", "hash", "role", "revokedAt" ON "ApiKey"
  FOR EACH STATEMENT EXECUTE FUNCTION "modelgate_registry_changed"();
CREATE TRIGGER "Model_registry_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "Model"
  FOR EACH STATEMENT EXECUTE FUNCTION "modelgate_registry_changed"();
CREATE TRIGGER "ModelVersion_registry_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "ModelVersion"
  FOR EACH STATEMENT EXECUTE FUNCTION "modelgate_registry_changed"();
CREATE TRIGGER "Alias_registry_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "Alias"
  FOR EACH STATEMENT EXECUTE FUNCTION "modelgate_registry_changed"();
