-- replaces: core 0007_decision_published
-- When a signed decision was published (the Atom feed of decisions orders by it).
ALTER TABLE documents ADD COLUMN decision_published_on date;
