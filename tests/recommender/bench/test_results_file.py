"""What a benchmark script's results file records about the code that produced it."""

from __future__ import annotations

import json
import time
from pathlib import Path

from library.provenance import code_version
from recommender.bench import write_script_results


def test_a_results_file_names_the_code_and_whether_it_was_committed(tmp_path: Path) -> None:
    written = write_script_results(tmp_path / "r.json", {"k": 1}, time.perf_counter(), x=[1])
    assert json.loads((tmp_path / "r.json").read_text()) == written
    # `git describe --always --dirty`: figures from uncommitted changes say so
    assert written["machine"]["commit"] == code_version()
    assert written["config"] == {"k": 1} and written["x"] == [1]
