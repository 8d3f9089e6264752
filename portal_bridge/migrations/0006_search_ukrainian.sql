-- replaces: core 0011_search_ukrainian
-- Search that finds inflected Ukrainian words («зміни бюджету» finds «змін до міського бюджету»):
-- PostgreSQL's ispell dictionary template reading Debian's hunspell-uk (uk_ua.dict / uk_ua.affix in
-- the server's tsearch_data: postgresql-common links them in when hunspell-uk is installed; the
-- embedded server gets them from session_server/dictionaries.py). Without the files the
-- configuration stays 'simple' and search finds word prefixes only, as before; a WARNING says so,
-- and `SELECT kvorum_search_use_dictionary()` switches it on once the files are there.
--
-- The dictionary costs each server process about 0.6 s and 60 MB the first time it is used, so it
-- is kept off the write path: rows get their search terms (`search_terms`, NULL until then) from the
-- first search that needs them, not when the portal's read models are written.

CREATE TEXT SEARCH CONFIGURATION kvorum_uk (COPY = simple);

-- The text as the search reads it (as 0008's kvorum_search_text): apostrophes dropped, hyphens made spaces.
CREATE FUNCTION kvorum_search_prepare(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT translate(regexp_replace(coalesce($1, ''), '[''’ʼ`]', '', 'g'), '-‐–—', '    ') $$;

-- Each word's dictionary forms (зміни → зміна, змінити) and the word as written (for prefixes: «бюдж»).
-- STABLE, not IMMUTABLE: the configuration changes when the dictionary is switched on.
CREATE FUNCTION kvorum_search_terms(text) RETURNS tsvector
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT to_tsvector('kvorum_uk', kvorum_search_prepare($1)) || to_tsvector('simple', kvorum_search_prepare($1)) $$;

-- Every word required; each matches a word of the same dictionary form, or a word it begins.
CREATE FUNCTION kvorum_search_query(words text[]) RETURNS tsquery
    LANGUAGE plpgsql STABLE STRICT
    AS $$
DECLARE
    result tsquery;
    word text;
    term tsquery;
BEGIN
    FOREACH word IN ARRAY words LOOP
        -- the caller passes letters and digits only, so the word cannot carry tsquery syntax
        term := plainto_tsquery('kvorum_uk', kvorum_search_prepare(word)) || to_tsquery('simple', word || ':*');
        result := CASE WHEN result IS NULL THEN term ELSE result && term END;
    END LOOP;
    RETURN result;
END
$$;

ALTER TABLE documents ADD COLUMN search_terms tsvector;
ALTER TABLE agenda_items ADD COLUMN search_terms tsvector;
CREATE INDEX documents_search_terms ON documents USING gin (search_terms);
CREATE INDEX agenda_items_search_terms ON agenda_items USING gin (search_terms);
CREATE INDEX documents_search_pending ON documents (id) WHERE search_terms IS NULL;
CREATE INDEX agenda_items_search_pending ON agenda_items (session, item) WHERE search_terms IS NULL;

-- A row whose text changes is searched again from its new text.
CREATE FUNCTION kvorum_search_stale() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ BEGIN NEW.search_terms := NULL; RETURN NEW; END $$;
CREATE TRIGGER documents_search_stale BEFORE UPDATE ON documents FOR EACH ROW
    WHEN ((OLD.number, OLD.title, OLD.body) IS DISTINCT FROM (NEW.number, NEW.title, NEW.body))
    EXECUTE FUNCTION kvorum_search_stale();
CREATE TRIGGER agenda_items_search_stale BEFORE UPDATE ON agenda_items FOR EACH ROW
    WHEN ((OLD.number, OLD.title) IS DISTINCT FROM (NEW.number, NEW.title))
    EXECUTE FUNCTION kvorum_search_stale();

-- Switch the Ukrainian dictionary on if the server has its files; true if it is on. Safe to run again.
CREATE FUNCTION kvorum_search_use_dictionary() RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
    BEGIN
        CREATE TEXT SEARCH DICTIONARY kvorum_uk_ispell (TEMPLATE = ispell, DictFile = uk_ua, AffFile = uk_ua);
    EXCEPTION
        WHEN duplicate_object THEN NULL;
        WHEN OTHERS THEN
            RAISE WARNING 'no Ukrainian dictionary (%): search finds word prefixes only. Install hunspell-uk '
                'on the database server (Debian: apt-get install hunspell-uk), then run '
                'SELECT kvorum_search_use_dictionary()', SQLERRM;
            RETURN false;
    END;
    ALTER TEXT SEARCH CONFIGURATION kvorum_uk ALTER MAPPING FOR word, hword, hword_part WITH kvorum_uk_ispell, simple;
    UPDATE documents SET search_terms = NULL;
    UPDATE agenda_items SET search_terms = NULL;
    RETURN true;
END
$$;

SELECT kvorum_search_use_dictionary();
