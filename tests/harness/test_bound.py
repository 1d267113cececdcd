"""tests/conftest.py's bound: a test that overruns fails by name and the session goes on."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_an_overrunning_test_fails_by_name_and_the_next_one_runs(tmp_path):
    shutil.copy(TESTS / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_probe.py").write_text(
        "import time\nimport pytest\n\n"
        "@pytest.mark.bound(1)\ndef test_waits_for_what_never_comes():\n    time.sleep(60)\n\n"
        "def test_after_it():\n    assert True\n")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                       capture_output=True, text=True, timeout=50, cwd=tmp_path)
    assert "1 failed, 1 passed" in r.stdout, r.stdout + r.stderr
    assert "test_waits_for_what_never_comes ran longer than its bound of 1 s" in r.stdout, r.stdout
