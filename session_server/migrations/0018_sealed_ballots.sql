-- The openings of sealed ballots (docs/ledger.md, "Sealed results"): the choice, salt and signature behind
-- each `ballot.sealed` commitment, kept apart from the log and never served, until the vote's close
-- records them all in its `ballots.opened` event.
CREATE TABLE sealed_ballots (
    stream   text NOT NULL REFERENCES streams (id),
    seq      bigint NOT NULL CHECK (seq >= 1),
    opening  jsonb NOT NULL,
    PRIMARY KEY (stream, seq)
);
