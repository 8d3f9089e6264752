-- replaces: core 0004_documents
-- Decision documents: a read model for listing (written in the appending transaction, rebuildable
-- from the document streams) and the files attached to drafts, kept by their SHA-256 in the
-- database so every node serves them.
CREATE TABLE documents (
    id              text PRIMARY KEY,  -- its stream is "document:" || id
    number          text NOT NULL,
    title           text NOT NULL,
    status          text NOT NULL,
    published_on    date,
    session         text,
    item            text,
    decision_number text,
    seq             bigint NOT NULL
);
CREATE INDEX documents_by_number ON documents (number);

CREATE TABLE files (
    sha256      bytea PRIMARY KEY CHECK (length(sha256) = 32),
    media_type  text NOT NULL,
    size        integer NOT NULL,
    content     bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
