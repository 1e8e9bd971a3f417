"""Coverage-guided fuzzing of the parser with atheris (libFuzzer): any bytes must give a parsed filing or
a clean ``RejectedFiling``, never another exception, within a time bound per input.

    .venv/bin/python benchmarks/fuzz_parser.py -runs=200000            # from the real sample as seed
    .venv/bin/python benchmarks/fuzz_parser.py -max_total_time=600 corpus/   # keep a corpus

The real filing (text and HTML) seeds the corpus, so mutations stay close to what firms publish.
libFuzzer's own options follow (``-runs``, ``-max_len``, ``-timeout``...); a crash writes the input
that caused it to ``crash-<sha1>`` in the current folder.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from etl.ingest.parser import ParsedFiling, RejectedFiling, parse_filing

SAMPLE = Path(__file__).resolve().parents[1] / "etl" / "synthetic" / "samples" / "citigroup-global-markets-2013-12-31.txt"


def one_input(data: bytes) -> None:
    try:
        result = parse_filing(data)
    except RejectedFiling:
        return
    assert isinstance(result, ParsedFiling)


def seed_corpus() -> str:
    folder = Path(tempfile.mkdtemp(prefix="dailyseg-fuzz-seed-"))
    text = SAMPLE.read_text(encoding="utf-8")
    (folder / "sample.txt").write_text(text)
    rows = "".join(f"<tr><td>{line}</td></tr>" for line in text.splitlines())
    (folder / "sample.html").write_text(f"<html><body><table>{rows}</table></body></html>")
    return str(folder)


def run_fuzzer(argv: list[str], one_input, seed_corpus, defaults: dict[str, str]) -> None:
    """Fuzz ``one_input`` with libFuzzer's options from ``argv``: a corpus folder (else a fresh one from
    ``seed_corpus()``) and ``defaults`` for the options not given (``{"timeout": "5"}``)."""
    args = list(argv)
    if not any(not a.startswith("-") for a in args[1:]):  # no corpus folder given: seed one
        args.append(seed_corpus())
    for option, value in defaults.items():
        if not any(a.startswith(f"-{option}=") for a in args):
            args.append(f"-{option}={value}")
    atheris.Setup(args, one_input)
    atheris.Fuzz()


def main(argv: list[str]) -> None:
    run_fuzzer(argv, one_input, seed_corpus, {"timeout": "5"})  # seconds per input: a slow input is a finding too


if __name__ == "__main__":
    main(sys.argv)
