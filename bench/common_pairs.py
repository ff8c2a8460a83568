#!/usr/bin/env python3
"""common_pairs.py: choose the CJK character pairs that the writer indexes
with positions (lib/api/pospairs.c), from a corpus. Deterministic; its output
is pasted into pospairs.c and committed (python is not needed to build).

    python3 bench/common_pairs.py [CORPUS.jsonl[.gz]] [N] > pairs.txt

Units and pairs as the analyzer makes them (docs/ANALYSIS.md): after NFKC,
each CJK character is a unit, each run of letters/digits one unit, anything
else separates without taking a position; a pair is two CJK units next to
each other. (The analyzer also folds Traditional to Simplified; the shared
corpus is Simplified already.)

The rule: a pair earns positions when phrases that hold it would decode far
fewer positions through it than through its characters, and it is common
enough that many phrases hold it. So: keep the pairs that occur at most half
as often as the rarer of their two characters (第二 44,659 times against
二's 91,562: yes; 政府 57,752 against 府's 57,854: no, 府 is almost always
in 政府 and its positions already say as much), and of those the N (default
48) commonest. Prints one pair per line, commonest first, then the C
initializer for pospairs.c on stderr.
"""
import collections
import gzip
import json
import re
import sys
import unicodedata

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
UNIT = re.compile("[" + HAN + "]|[^\\W_" + HAN + "]+")


def is_han(u):
    return len(u) == 1 and re.match("[" + HAN + "]", u) is not None


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "../shared/corpus/main.jsonl.gz"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 48
    opener = gzip.open if path.endswith(".gz") else open
    chars = collections.Counter()
    pairs = collections.Counter()
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            text = unicodedata.normalize("NFKC", json.loads(line)["text"]).casefold()
            units = UNIT.findall(text)
            chars.update(u for u in units if is_han(u))
            pairs.update(a + b for a, b in zip(units, units[1:])
                         if is_han(a) and is_han(b))
    chosen = [p for p, c in pairs.most_common()
              if 2 * c <= min(chars[p[0]], chars[p[1]])][:n]
    for p in chosen:
        print(p)
    for i in range(0, len(chosen), 8):
        sys.stderr.write("    " + " ".join('"%s",' % p for p in chosen[i:i + 8]) + "\n")


if __name__ == "__main__":
    main()
