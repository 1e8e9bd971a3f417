"""A short coverage-guided fuzzing run of the parser (atheris): every input ends as a filing or a clean
rejection. Longer runs: benchmarks/fuzz_parser.py (figures in docs/reliability.md)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_fuzzing_the_parser_finds_no_crash(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "fuzz_parser.py"), "-runs=5000", "-seed=7"],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert "Done 5000 runs" in log
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("timeout-*"))
