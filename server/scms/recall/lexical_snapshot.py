"""The lexical index saved as `.scms/index/lexical.npz` with the last event it includes.

Rebuilding the index from 100k stored patterns takes seconds; loading this file takes a fraction of one,
and the next refresh catches up with the events after it. The file is trusted only while the event it names
still is what it was when saved (a replaced store renumbers its events); anything else means a rebuild.
"""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import numpy as np

from scms.atomic import atomic_write
from scms.recall.lexical import LexicalIndex
from scms.store.queries import event_stamp

FILE = "lexical.npz"
FORMAT = 2  # 2: terms include whole names
__all__ = ["FILE", "FORMAT", "event_stamp", "load", "save"]


def save(live: tuple[list[str], np.ndarray, np.ndarray, list[str]], folder: Path, watermark: int,
         stamp: str) -> None:
    """The index's `live_rows()`, atomically (`scms.atomic`)."""
    ids, terms, lengths, words = live
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, format=np.array(FORMAT), watermark=np.array(watermark),
             meta=_blob({"stamp": stamp, "ids": ids, "words": words}), lengths=lengths, terms=terms)
    atomic_write(folder / FILE, buffer.getbuffer())


def load(folder: Path, conn: sqlite3.Connection) -> tuple[LexicalIndex, int] | None:
    """The saved index and the last event it includes; None when there is none or it does not fit this store.
    Raises ValueError when the file is damaged."""
    path = folder / FILE
    if not path.exists() and not path.is_symlink():
        return None
    if path.is_symlink() or not path.is_file():
        raise ValueError(f"{FILE} is a link or not a plain file")
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != FORMAT:
                return None
            watermark = int(data["watermark"])
            meta = json.loads(data["meta"].tobytes())
            lengths, terms = data["lengths"], data["terms"].astype(np.int32)
        ids, words, stamp = meta["ids"], meta["words"], meta["stamp"]
    except Exception as err:  # numpy, zip and json errors alike
        raise ValueError(f"{FILE} is unreadable ({type(err).__name__})") from err
    if len(ids) != len(lengths) or int(lengths.sum()) != len(terms) or (
            len(terms) and not 0 <= int(terms.min()) <= int(terms.max()) < len(words)):
        raise ValueError(f"{FILE} is inconsistent")
    if stamp != event_stamp(conn, watermark):
        return None
    return LexicalIndex.from_rows(ids, terms, lengths, words), watermark


def _blob(value: object) -> np.ndarray:
    return np.frombuffer(json.dumps(value).encode("utf-8"), dtype=np.uint8)
