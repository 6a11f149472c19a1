"""Scan files (html, json, csv, ipynb, xlsx, parquet) for unmasked phone numbers."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from .privacy import find_phones

# embedded images (base64) are long runs of this alphabet: drop them so their digits cannot look like phones
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=\\n]{200,}")
TEXT_SUFFIXES = {".html", ".json", ".jsonl", ".csv", ".ipynb", ".txt", ".md", ".yaml", ".yml", ".log"}


def file_text(path: Path) -> str:
    """The searchable text of a file: xlsx as its XML parts, parquet as its string cells."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as zf:
            return "\n".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist() if n.endswith(".xml"))
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq
        table = pq.read_table(path)
        return "\n".join(str(v) for col in table.columns if str(col.type) in ("string", "large_string")
                         for v in col.to_pylist() if v)
    return path.read_text(encoding="utf-8", errors="replace")


def scan_tree(root: Path) -> list[tuple[Path, list[str]]]:
    """(file, unmasked phones) for every scannable file under `root` that has any."""
    found = []
    for path in sorted(root.rglob("*")) if root.exists() else []:
        if path.is_file() and (path.suffix in TEXT_SUFFIXES or path.suffix in (".xlsx", ".parquet")):
            phones = find_phones(_BASE64_RUN.sub(" ", file_text(path)))
            if phones:
                found.append((path, phones))
    return found
