"""The run directory: settings file and an append-only, fsynced JSON-lines journal.

Every finished trial, every rung plan and the final decision is one line of
``journal.jsonl``, written with ``flush`` + ``fsync`` before the run moves on, so a
SIGTERM, a ``kill -9`` or a power cut loses at most the trial in flight. A line torn by a
crash is cut off (and logged) the next time the journal is opened.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from library.exceptions import RunnerError

__all__ = ["RunJournal", "write_json_atomic", "read_json"]

logger = logging.getLogger(__name__)


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` via a fsynced temporary file and a rename."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True, default=str)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON object, raising `RunnerError` with the path on failure."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise RunnerError(f"{path} not found; is the run id / --runs-dir right?") from None
    except (OSError, json.JSONDecodeError) as error:
        raise RunnerError(f"cannot read {path}: {error}") from error


class RunJournal:
    """Append-only JSON-lines journal of one run.

    Args:
        path: the ``journal.jsonl`` file (created when missing).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[dict[str, Any]]:
        """All complete records; a torn last line is truncated away.

        Raises:
            RunnerError: a line other than the last is not valid JSON (corruption).
        """
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        records: list[dict[str, Any]] = []
        offset = 0
        good_end = 0
        lines = data.split(b"\n")
        for number, line in enumerate(lines):
            is_last = number == len(lines) - 1
            end = offset + len(line) + (0 if is_last else 1)
            if line.strip():
                try:
                    records.append(json.loads(line))
                    if is_last:  # complete JSON without newline: keep it, add the newline
                        with open(self.path, "ab") as handle:
                            handle.write(b"\n")
                            handle.flush()
                            os.fsync(handle.fileno())
                        end += 1
                except json.JSONDecodeError:
                    if not is_last:
                        raise RunnerError(
                            f"journal {self.path} line {number + 1} is corrupt; "
                            "the run cannot be resumed safely, start a new run"
                        ) from None
                    logger.warning("dropping a torn last journal line in %s", self.path)
                    with open(self.path, "r+b") as handle:
                        handle.truncate(good_end)
                        handle.flush()
                        os.fsync(handle.fileno())
                    break
            good_end = end
            offset = end
        return records

    def append(self, record: dict[str, Any]) -> None:
        """Append one record and fsync it."""
        line = json.dumps(record, sort_keys=True, default=str, allow_nan=True) + "\n"
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
