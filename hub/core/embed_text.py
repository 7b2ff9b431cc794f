#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes a C file that defines `const char NAME[]`: the bytes of a text file and a NUL.

Usage: embed_text.py NAME IN OUT
Used by the build to compile the draft-07 meta-schema into the core library. The
bytes are written as an array initializer, which has no length limit, unlike a
string literal (C11 guarantees 4095 characters).
"""
import sys


def main():
    name, src, out = sys.argv[1:4]
    data = open(src, "rb").read()
    if b"\0" in data:
        sys.exit(f"{src}: contains a NUL byte")
    data += b"\0"
    lines = [f"/* Generated from {src.rsplit('/', 1)[-1]} by embed_text.py; do not edit. */",
             f"const char {name}[{len(data)}] = {{"]
    for i in range(0, len(data), 16):
        lines.append("    " + ", ".join(f"{b:#04x}" for b in data[i:i + 16]) + ",")
    lines.append("};")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
