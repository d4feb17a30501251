#!/usr/bin/env python3
"""The benchmark's reference for many small subjects (issue 18, item 3): the loop a developer would
write with Python's standard library. One process; per subject (one e-mail per line of the list)
the account and the visits, each as a JSON file, in a zip (deflate, level 6) with a SHA-256
manifest of the files, written to OUT_DIR/subject-LINE.zip.

    python3 scripts/python-batch-reference.py STORE.db SUBJECTS.txt OUT_DIR

The lookup is the indexed one the benchmark's store carries: users.email as stored (the store
holds canonical lower-case e-mails), visits by user_id (indexed).
"""
import hashlib
import json
import sqlite3
import sys
import zipfile

db, subjects, out = sys.argv[1:4]
con = sqlite3.connect(db)
con.row_factory = sqlite3.Row
with open(subjects, encoding="utf-8") as f:
    emails = [line.strip().split("=", 1)[1] for line in f if line.strip()]

for number, email in enumerate(emails, 1):
    user = con.execute("SELECT id, email, name FROM users WHERE email = ?", (email,)).fetchone()
    if user is None:
        continue
    files = {
        "data/account.json": [dict(user)],
        "data/visits.json": [dict(r) for r in con.execute(
            "SELECT id, user_id, started_at, ip, user_agent, os, referrer, path, duration_ms, amount"
            " FROM visits WHERE user_id = ? ORDER BY id", (user["id"],))],
    }
    manifest = {}
    with zipfile.ZipFile(f"{out}/subject-{number}.zip", "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for path, rows in files.items():
            data = json.dumps(rows, ensure_ascii=False, indent=1).encode("utf-8")
            manifest[path] = hashlib.sha256(data).hexdigest()
            z.writestr(path, data)
        z.writestr("manifest.json", json.dumps({"subject": email, "files": manifest}, indent=2))
