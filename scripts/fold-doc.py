#!/usr/bin/env python3
"""Folds a docs/readme/<topic>.md section into README.md before a marker line, demoting its headings one level
(headings only: lines inside ``` fences are left alone). Usage: fold-doc.py DOC MARKER"""
import sys

doc_path, marker = sys.argv[1], sys.argv[2]
out, fenced = [], False
for line in open(doc_path).read().strip().split("\n"):
    if line.startswith("```"):
        fenced = not fenced
    out.append("#" + line if not fenced and line.startswith("#") else line)
readme = open("README.md").read()
assert marker in readme, f"marker {marker!r} not in README.md"
open("README.md", "w").write(readme.replace(marker, "\n".join(out) + "\n\n" + marker, 1))
