-- replaces: core 0008_search
-- Full-text search over decisions and agenda items, for Ukrainian text without a Ukrainian
-- dictionary: the 'simple' configuration (lower-cased words) with prefix matching, apostrophes
-- dropped (пам'ять = памʼять = память) and hyphens made spaces (ПР-110 = ПР 110, not ПР and -110).
CREATE FUNCTION kvorum_search_text(text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT to_tsvector('simple', translate(regexp_replace(coalesce($1, ''), '[''’ʼ`]', '', 'g'), '-‐–—', '    ')) $$;

ALTER TABLE documents ADD COLUMN body text NOT NULL DEFAULT '';
CREATE INDEX documents_search ON documents USING gin (kvorum_search_text(number || ' ' || title || ' ' || body));

-- Agenda items of every session, written by the `search` consumer of the log.
CREATE TABLE agenda_items (
    session  text NOT NULL,
    item     text NOT NULL,
    number   text NOT NULL,
    title    text NOT NULL,
    draft    text,
    PRIMARY KEY (session, item)
);
CREATE INDEX agenda_items_search ON agenda_items USING gin (kvorum_search_text(number || ' ' || title));
