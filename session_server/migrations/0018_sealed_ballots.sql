-- The openings of sealed ballots (docs/ledger.md, "Sealed results"): the choice, salt and signature behind
-- each `ballot.sealed` commitment, kept apart from the log and never served, until the vote's close
-- records them all in its `ballots.opened` event.
CREATE TABLE sealed_ballots (
    stream   text NOT NULL,   -- written only by an append to that stream, in its transaction
    seq      bigint NOT NULL CHECK (seq >= 1),
    opening  text NOT NULL,   -- JSON, as the server wrote it (read back only to close the vote)
    PRIMARY KEY (stream, seq)
);
