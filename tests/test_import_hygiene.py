"""The core is headless: no module outside visitlog/tui/ imports textual."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import visitlog

CORE_MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(visitlog.__path__, "visitlog.")
    if not m.name.startswith("visitlog.tui")
)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_not_import_textual(module):
    code = f"import sys, {module}; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", f"{module} pulls in textual"


def test_core_modules_were_found():
    assert {"visitlog.store", "visitlog.model", "visitlog.cli", "visitlog.clock"} <= set(
        CORE_MODULES
    )


def test_the_product_reads_no_test_switch():
    """Test hooks live in tests/ (fixtures, test-only entries), never behind an
    environment variable the installed program would obey."""
    import re
    from pathlib import Path

    sources = Path(visitlog.__file__).parent.rglob("*.py")
    found = {
        (path.name, name)
        for path in sources
        for name in re.findall(r"VISITLOG_[A-Z_]+", path.read_text(encoding="utf-8"))
        if "TEST" in name
    }
    assert found == set()
