"""LOG_FILE: the log also goes to a file, rotated by size, in the chosen format."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from bozor.observability import logs


def test_the_log_file_rotates_and_keeps_the_backups_asked_for(tmp_path: Path) -> None:
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    path = tmp_path / "logs" / "bozor.log"
    try:
        logs.configure("INFO", "json", file=path, max_bytes=2048, backups=2)
        for i in range(200):
            logging.getLogger("bozor.test").info("line %d of the rotation test", i)
        for handler in root.handlers:
            handler.flush()
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in saved:
            root.addHandler(handler)
        root.setLevel(level)
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["bozor.log", "bozor.log.1", "bozor.log.2"]
    assert all((path.parent / name).stat().st_size <= 2048 for name in files)
    last = json.loads(path.read_text().splitlines()[-1])
    assert last["message"] == "line 199 of the rotation test" and last["level"] == "INFO"
