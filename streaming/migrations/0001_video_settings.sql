-- replaces: core 0010_video
-- Each session's video settings. Settings are not session events: a camera URL may carry the
-- camera's password and must never reach the public log.
CREATE TABLE video_settings (
    session       text PRIMARY KEY,
    source        text NOT NULL DEFAULT 'whip' CHECK (source IN ('whip', 'camera')),
    camera_url    text,  -- rtsp://…, http(s)://… or a file path; only for source = 'camera'
    bitrate_kbps  integer NOT NULL DEFAULT 1500 CHECK (bitrate_kbps BETWEEN 200 AND 8000),
    stream_key    bytea,  -- SHA-256 of the session's WHIP stream key (OBS keeps it for hours), if one was made
    stream_key_by text,   -- who made it: the log names them when the key publishes
    updated_by    text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (source = 'whip' OR camera_url IS NOT NULL)
);
