-- What the law keeps for at least five years (Law 3590-IX) Kvorum never changes or deletes: the event log of
-- every council, sitting and document, the ledgers' signed checkpoints and the witnesses' cosignatures. Every
-- statement that tries fails; lifting the guard takes the tables' owner (the role the nodes connect as, which
-- migrates them) or a superuser disabling these triggers on purpose, and `kvorum verify` finds whatever was
-- changed then. (Dropping the whole schema, as `kvorum demo --reset` does for the demo council only, is not a
-- row's change.)
CREATE FUNCTION kvorum_records_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Kvorum keeps the rows of % as the law requires: they are never changed or deleted', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE TRIGGER events_kept BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION kvorum_records_kept();
CREATE TRIGGER events_not_emptied BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION kvorum_records_kept();
CREATE TRIGGER checkpoints_kept BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION kvorum_records_kept();
CREATE TRIGGER checkpoints_not_emptied BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION kvorum_records_kept();
CREATE TRIGGER cosignatures_kept BEFORE UPDATE OR DELETE ON cosignatures
    FOR EACH ROW EXECUTE FUNCTION kvorum_records_kept();
CREATE TRIGGER cosignatures_not_emptied BEFORE TRUNCATE ON cosignatures
    FOR EACH STATEMENT EXECUTE FUNCTION kvorum_records_kept();
