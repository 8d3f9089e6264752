"""The next release, as far as an upgrade test needs one: this code base with one more migration of its own, the
kind of expand step a release adds while the previous one still serves a sitting (``tests/test_upgrade.py``).

``python -m next_release serve`` (with ``tests/`` on ``sys.path``) is ``kvorum serve`` of that release.
"""

from __future__ import annotations

from session_server.store.schema import Component

MIGRATIONS = Component("next-release", "next_release.migrations")
