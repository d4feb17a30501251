#!/usr/bin/env python3
"""The benchmark's second reference (issue 18): the same export written the obvious way with
Python's standard library only. One subject's account and visits from SQLite, each dataset as
JSON (and CSV and XML with --format json,csv,xml) streamed into a zip (deflate, level 6), plus a
SHA-256 manifest of the files.

    python3 scripts/python-reference.py STORE.db EMAIL OUT.zip [--format json|json,csv,xml]
"""
import csv
import hashlib
import io
import json
import sqlite3
import sys
import zipfile
from xml.sax.saxutils import XMLGenerator

db, email, out = sys.argv[1:4]
formats = sys.argv[5].split(",") if len(sys.argv) > 5 and sys.argv[4] == "--format" else ["json"]

con = sqlite3.connect(db)
con.row_factory = sqlite3.Row
user = con.execute("SELECT id, email, name FROM users WHERE email = ?", (email,)).fetchone()
queries = {
    "account": ("SELECT id, email, name FROM users WHERE id = ?", (user["id"],)),
    "visits": ("SELECT id, user_id, started_at, ip, user_agent, os, referrer, path, duration_ms, amount"
               " FROM visits WHERE user_id = ? ORDER BY id", (user["id"],)),
}


class Hashing(io.RawIOBase):
    """Passes bytes to the zip entry and hashes them on the way."""

    def __init__(self, raw):
        self.raw, self.sha = raw, hashlib.sha256()

    def writable(self):
        return True

    def write(self, b):
        self.sha.update(b)
        return self.raw.write(b)


manifest = {}
with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
    for fmt in formats:
        for name, (sql, params) in queries.items():
            path = f"data/{name}.{fmt}"
            with z.open(path, "w", force_zip64=True) as raw:
                h = Hashing(raw)
                f = io.TextIOWrapper(io.BufferedWriter(h, 1 << 16), encoding="utf-8", newline="")
                rows = con.execute(sql, params)
                if fmt == "json":
                    f.write("[")
                    for i, row in enumerate(rows):
                        f.write(("," if i else "") + "\n" + json.dumps(dict(row), ensure_ascii=False))
                    f.write("\n]\n")
                elif fmt == "csv":
                    w = csv.writer(f)
                    w.writerow([d[0] for d in rows.description])
                    for row in rows:
                        w.writerow(["" if v is None else v for v in row])
                else:
                    x = XMLGenerator(f, "utf-8", short_empty_elements=True)
                    x.startDocument()
                    x.startElement(name, {})
                    columns = [d[0] for d in rows.description]
                    for row in rows:
                        x.startElement("record", {})
                        for c, v in zip(columns, row):
                            if v is not None:
                                x.startElement(c, {})
                                x.characters(str(v))
                                x.endElement(c)
                        x.endElement("record")
                    x.endElement(name)
                    x.endDocument()
                f.flush()
                f.detach()
                manifest[path] = h.sha.hexdigest()
    z.writestr("manifest.json", json.dumps({"subject": email, "files": manifest}, indent=2))
