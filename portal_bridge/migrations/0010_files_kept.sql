-- The files attached to drafts are part of the decisions' record: kept like the log (core 0021_records_kept).
CREATE TRIGGER files_kept BEFORE UPDATE OR DELETE ON files
    FOR EACH ROW EXECUTE FUNCTION kvorum_records_kept();
CREATE TRIGGER files_not_emptied BEFORE TRUNCATE ON files
    FOR EACH STATEMENT EXECUTE FUNCTION kvorum_records_kept();
