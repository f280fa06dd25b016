"""The drop folder: utility exports ingested once they are renamed into it."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from carbon.collect.messages import MessageError, batch_to_json

if TYPE_CHECKING:
    from carbon.collect.collector import Collector

__all__ = ["IN_PROGRESS", "MAPPING_SUFFIX", "DropFolder"]

log = logging.getLogger("carbon.collect")

IN_PROGRESS = (".part", ".tmp", ".partial")
"""Suffixes of files still being written (left alone until renamed)."""
MAPPING_SUFFIX = ".mapping.toml"
"""``NAME.mapping.toml`` is the mapping of ``NAME``."""


class DropFolder:
    """Takes the complete files of a collector's drop folder (see :mod:`carbon.collect`).

    Parameters
    ----------
    collector : the collector whose writer thread ingests the files.
    folder : the drop folder (with ``done/`` and ``failed/`` in it).
    """

    def __init__(self, collector: Collector, folder: Path) -> None:
        self.collector = collector
        self.folder = folder
        for sub in ("done", "failed"):
            (folder / sub).mkdir(parents=True, exist_ok=True)

    def run(self) -> None:
        """Catch up ``done/``, then take new files every ``poll_seconds`` until stopped."""
        c = self.collector
        try:  # files moved to done/ whose ingest a crash cut short: take them again
            for path in files(self.folder / "done"):
                if not path.with_name(path.name + ".json").exists():
                    self.take(path, moved=True)
        except Exception:
            log.exception("drop folder %s: catching up done/", self.folder)
        while not c.stopping:
            try:
                for path in files(self.folder):
                    if c.stopping:
                        break
                    self.take(path)
            except Exception:
                log.exception("drop folder %s", self.folder)
            c.wait(c.poll_seconds)

    def take(self, path: Path, *, moved: bool = False) -> None:
        """Ingest one complete file, from ``done/`` (its batch records the path it keeps);
        write its receipt, or move it to ``failed/`` with the reason."""
        if moved:
            target = path
        else:
            stamp = self.collector.clock().astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            target = free_name(self.folder / "done", f"{stamp}_{path.name}")
            sidecar = path.with_name(path.name + MAPPING_SUFFIX)
            if sidecar.exists():
                os.replace(sidecar, target.with_name(target.name + MAPPING_SUFFIX))
            os.replace(path, target)
        mapping = target.with_name(target.name + MAPPING_SUFFIX)
        try:
            future = self.collector.submit_files([target], mapping if mapping.exists() else None)
            batches = future.result()
        except MessageError:  # stopping: taken again from done/ at the next start
            return
        except Exception as exc:
            failed = free_name(self.folder / "failed", target.name)
            os.replace(target, failed)
            failed.with_name(failed.name + ".error.txt").write_text(f"{exc}\n", "utf-8")
            if mapping.exists():
                os.replace(mapping, failed.with_name(failed.name + MAPPING_SUFFIX))
            log.warning("drop folder: %s failed: %s", path.name, exc)
            return
        receipt = [batch_to_json(b) for b in batches]
        tmp = target.with_name(f".{target.name}.json.tmp")
        tmp.write_text(json.dumps(receipt, indent=2, ensure_ascii=False) + "\n", "utf-8")
        os.replace(tmp, target.with_name(target.name + ".json"))
        log.info("drop folder: %s -> %s", path.name, ", ".join(b.batch_id for b in batches))


def files(folder: Path) -> list[Path]:
    """The complete data files of a folder, oldest first: no folders, no names starting with
    ``.`` or ending in ``.part``, ``.tmp``, ``.partial`` (being written), ``.mapping.toml``
    (mappings), ``.json`` or ``.error.txt`` (receipts)."""
    found = []
    with os.scandir(folder) as entries:
        for e in entries:
            name = e.name
            if not e.is_file() or name.startswith("."):
                continue
            if name.endswith((*IN_PROGRESS, MAPPING_SUFFIX, ".json", ".error.txt")):
                continue
            found.append((e.stat().st_mtime_ns, name, Path(e.path)))
    return [p for _, _, p in sorted(found)]


def free_name(folder: Path, name: str) -> Path:
    target = folder / name
    n = 1
    while target.exists():
        target = folder / f"{name}.{n}"
        n += 1
    return target
