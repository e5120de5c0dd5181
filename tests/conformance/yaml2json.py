#!/usr/bin/env python3
"""yaml2json.py - the SPF conformance suite (a YAML stream) as one JSON array.

Usage: yaml2json.py rfc7208-tests.yml > tests.json

Every scalar is kept as a string (BaseLoader: no int/float/sexagesimal
guessing, so "1:2:3" or "10" stay as written). The suite writes test bytes
as \\xNN escapes, which YAML reads as code points U+0000-U+00FF; JSON
carries them as \\u00XX escapes (ensure_ascii) and the C driver turns each
code point back into one byte. NUL cannot live in a C string, so it is
written as U+2400 (SYMBOL FOR NULL) and the driver maps that back to 0x00.
Empty documents (the header comment) are skipped.
"""
import json
import sys

import yaml


def fix(v):
    if isinstance(v, str):
        return v.replace("\x00", "\u2400")
    if isinstance(v, list):
        return [fix(x) for x in v]
    if isinstance(v, dict):
        return {fix(k): fix(x) for k, x in v.items()}
    return v


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: yaml2json.py FILE.yml\n")
        return 64
    with open(sys.argv[1], "rb") as f:
        docs = [fix(d) for d in yaml.load_all(f, Loader=yaml.BaseLoader) if d]
    json.dump(docs, sys.stdout, ensure_ascii=True, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
