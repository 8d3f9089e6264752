"""The project's own packaging: ``make demo`` on a fresh clone installs it without a word from setuptools, and
the metadata has none of the fields setuptools stops accepting (a table ``license`` fails builds from
2027-02-18)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("session_server", "voting", "streaming", "portal_bridge", "benchmarks")


def test_the_license_is_an_spdx_expression_and_no_deprecated_field_is_used() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"  # a string: the SPDX expression (PEP 639)
    assert not any(c.startswith("License ::") for c in project.get("classifiers", []))  # PEP 639 forbids both
    assert "license-files" not in project or isinstance(project["license-files"], list)


@pytest.mark.timeout(300)
def test_an_editable_install_of_a_fresh_copy_prints_no_warning_from_the_build(tmp_path: Path) -> None:
    """What ``make demo`` runs (``pip install -e .``), into a new environment, from a copy of what a clone
    holds; every line the build backend prints is a warning or a notice, so there must be none."""
    source = tmp_path / "kvorum"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "env")], check=True)
    pip = [sys.executable, "-m", "pip", "--python", str(tmp_path / "env" / "bin" / "python")]
    install = subprocess.run(
        [*pip, "install", "--no-deps", "--no-input", "-e", str(source)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert install.returncode == 0, install.stderr
    # This machine's pip configuration names index folders that may be missing ("Location … is ignored"):
    # pip's own lines about its configuration, not the project's.
    lines = [
        line
        for line in (install.stdout + install.stderr).splitlines()
        if "warn" in line.lower() or "deprecat" in line.lower() or "!!" in line or "Editable installation" in line
    ]
    ours = [line for line in lines if not line.startswith("WARNING: Location ")]
    assert not ours, "\n".join(ours)
    assert "Successfully installed kvorum" in install.stdout
