"""Short coverage-guided fuzzing runs of the parser and of the PDF path (atheris): every input ends as a
filing or a clean rejection. Longer runs: benchmarks/fuzz_parser.py and benchmarks/fuzz_pdf.py (figures
in docs/reliability.md)."""

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


def test_fuzzing_the_pdf_path_finds_no_crash(tmp_path):
    """Mutated PDFs and random bytes behind a %PDF- header: each ends as a filing or a clean rejection."""
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "fuzz_pdf.py"), "-runs=400", "-seed=7"],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert "Done 400 runs" in log
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("timeout-*"))
