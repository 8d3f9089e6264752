"""Live video of sessions: WHIP ingest, one encode, WHEP and HLS viewers, recording with chapters (next issues)."""
