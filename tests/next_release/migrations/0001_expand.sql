-- Expand, as a release may while the previous one serves a sitting: a nullable column on the busiest table
-- (every ballot inserts into it), one on the accounts every sign-in reads, and a table of its own with an
-- index. Nothing the previous release reads or writes changes shape for it; dropping or renaming waits for
-- the release after (contract), once no node runs code that uses the old shape.
ALTER TABLE events ADD COLUMN origin_node text;
ALTER TABLE users ADD COLUMN locale text;
CREATE TABLE sitting_notes (
    stream  text NOT NULL,
    seq     bigint NOT NULL,
    note    text NOT NULL,
    PRIMARY KEY (stream, seq)
);
CREATE INDEX sitting_notes_by_note ON sitting_notes (note);
