"""Short coverage-guided fuzzing runs of the parser and of the PDF path (atheris): every input ends as a
filing or a clean rejection. Longer runs: benchmarks/fuzz_parser.py and benchmarks/fuzz_pdf.py (figures
in docs/reliability.md)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def fuzz(script: str, runs: int, folder) -> None:
    """Run one of the fuzzers in ``benchmarks/`` for ``runs`` inputs; it must find nothing."""
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), f"-runs={runs}", "-seed=7"],
                            capture_output=True, text=True, timeout=600, cwd=folder)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert f"Done {runs} runs" in log
    assert not list(folder.glob("crash-*")) and not list(folder.glob("timeout-*"))


def test_fuzzing_the_parser_finds_no_crash(tmp_path):
    fuzz("fuzz_parser.py", 5000, tmp_path)


def test_fuzzing_the_pdf_path_finds_no_crash(tmp_path):
    """Mutated PDFs and random bytes behind a %PDF- header: each ends as a filing or a clean rejection."""
    fuzz("fuzz_pdf.py", 400, tmp_path)
