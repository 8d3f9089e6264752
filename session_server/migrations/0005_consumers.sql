-- Durable consumers of the log (session_server.application.consumers): how far each has handled each stream.
CREATE TABLE consumer_positions (
    consumer  text NOT NULL,
    stream    text NOT NULL REFERENCES streams (id),
    seq       bigint NOT NULL CHECK (seq >= 0),
    PRIMARY KEY (consumer, stream)
);
