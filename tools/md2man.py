#!/usr/bin/env python3
"""docs/CONFIG.md -> mixcast.ini(5) in roff (man(7)), so that the manual page and the reference never differ.
Knows just what CONFIG.md uses: #/##/### headings, paragraphs, `code`, **bold**, lists and pipe tables.
usage: md2man.py CONFIG.md VERSION > mixcast.ini.5"""
import re
import sys


def inline(s):
    s = s.replace("\\", "\\e")
    s = re.sub(r"`([^`]*)`", r"\\fB\1\\fR", s)
    s = re.sub(r"\*\*([^*]*)\*\*", r"\\fB\1\\fR", s)
    s = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", s)
    return s


def line(s):
    s = inline(s)
    return "\\&" + s if s[:1] in ".'" else s


def main():
    src, version = sys.argv[1], sys.argv[2]
    out = [f'.TH MIXCAST.INI 5 "" "mixcast {version}" "File Formats"', ".SH NAME",
           "mixcast.ini \\- configuration of mixcastd"]
    lines = open(src, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        ln = lines[i].rstrip()
        if ln.startswith("# "):
            out.append(".SH DESCRIPTION")
        elif ln.startswith("## "):
            out.append(".SH " + inline(ln[3:]).upper())
        elif ln.startswith("### "):
            out.append(".SS " + inline(ln[4:]))
        elif ln.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                    rows.append(cells)
                i += 1
            for cells in rows[1:]:  # the header row names the columns; each row is a tagged paragraph
                out.append(".TP")
                out.append(line(cells[0]) + (" (default: " + inline(cells[1]) + ")" if len(cells) > 2 and cells[1] else ""))
                out.append(line(cells[-1]))
            continue
        elif ln.startswith("- "):
            out.append(".IP \\(bu 2")
            out.append(line(ln[2:]))
        elif ln.strip() == "":
            out.append(".PP")
        else:  # a paragraph: its lines joined first, so that `code` may span a line break
            para = [ln]
            while i + 1 < len(lines) and lines[i + 1].strip() and not lines[i + 1].startswith(("#", "|", "- ")):
                i += 1
                para.append(lines[i].rstrip())
            out.append(line(" ".join(para)))
        i += 1
    out += [".SH SEE ALSO", "mixcastd(8)"]
    text = "\n".join(out) + "\n"
    print(re.sub(r"(\.PP\n)+(\.(SH|SS|TP|PP|IP))", r"\2", text), end="")


if __name__ == "__main__":
    main()
