"""A witness of councils' ledgers (``kvorum witness``), by C2SP tlog-witness: its own Ed25519 key, its own
small database of the latest checkpoint it cosigned per log, and ``POST /add-checkpoint``. It can run on a
faction's laptop, a city NGO's server or the regional archive's; docs/witness.md says how."""
