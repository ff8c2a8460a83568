#!/usr/bin/env python3
"""make_queries.py: generate bench/queries.txt, the fixed query set of the
benchmark, from the shared corpus. Deterministic: a fixed seed and the corpus
in file order give the same file every time, so the output is committed and
bench/run never regenerates it (python is not needed to run the benchmark).

    python3 bench/make_queries.py [CORPUS.jsonl[.gz]] > bench/queries.txt

One query per line. A line that is one quoted string is a phrase query
("..."), 1-8 CJK characters; every other line is a multi-term query of 2-4
bare CJK words separated by spaces. Per phrase length 1..8 there are 40
phrases: 15 common, 15 rare (in 1-3 documents), 6 absent (made-up
combinations of real pieces, in no document) and 4 that occur in the text
only across a separator (line break, space or punctuation, which N(x) drops;
for length 1, 4 more common ones). Then 160 multi-term queries: 60 whose
words come from one document, 60 whose words come from different documents
and 40 with one made-up word.
"""
import gzip
import json
import os
import random
import re
import sys

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
RUN = re.compile("[" + HAN + "]+")
# Text between two CJK runs that N(x) removes entirely: no letter or digit.
SEP = re.compile("([" + HAN + "]+)([^" + HAN + r"\w]+)([" + HAN + "]+)")

COMMON_DF = {1: 500, 2: 200, 3: 100, 4: 50, 5: 20, 6: 10, 7: 5, 8: 5}


def load(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def main():
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        top, "..", "shared", "corpus", "main.jsonl.gz")
    texts = load(path)
    rng = random.Random(20251124)
    runs = [RUN.findall(t) for t in texts]
    seen = set()
    out = []

    def df(q, stop=None):
        n = 0
        for t in texts:
            if q in t:
                n += 1
                if stop is not None and n >= stop:
                    break
        return n

    def sample(minlen):
        """A random CJK substring of length minlen from a random run."""
        while True:
            d = rng.randrange(len(texts))
            rs = [r for r in runs[d] if len(r) >= minlen]
            if not rs:
                continue
            r = rng.choice(rs)
            i = rng.randrange(len(r) - minlen + 1)
            return r[i:i + minlen]

    def take(q, line):
        if q in seen:
            return False
        seen.add(q)
        out.append(line)
        return True

    # Phrases.
    for n in range(1, 9):
        common = 19 if n == 1 else 15
        got = 0
        while got < common:
            q = sample(n)
            if df(q, COMMON_DF[n]) >= COMMON_DF[n] and take(q, '"%s"' % q):
                got += 1
        got = 0
        if n == 1:
            # Rare single characters: random picks among the characters that
            # one to three documents use.
            cdf = {}
            for rs in runs:
                for c in set("".join(rs)):
                    cdf[c] = cdf.get(c, 0) + 1
            rare = sorted(c for c, v in cdf.items() if 1 <= v <= 3)
            for q in rng.sample(rare, 40):
                if got < 15 and df(q, 4) <= 3 and take(q, '"%s"' % q):
                    got += 1
        while got < 15:
            q = sample(n)
            if 1 <= df(q, 4) <= 3 and take(q, '"%s"' % q):
                got += 1
        got = 0
        while got < 6:
            if n == 1:
                q = chr(rng.randrange(0x3400, 0x4db6))  # CJK extension A
            else:
                k = rng.randrange(1, n)
                q = sample(k) + sample(n - k)
            if df(q, 1) == 0 and take(q, '"%s"' % q):
                got += 1
        if n == 1:
            continue
        got = 0
        while got < 4:
            d = rng.randrange(len(texts))
            ms = [m for m in SEP.finditer(texts[d])]
            if not ms:
                continue
            m = rng.choice(ms)
            a, b = m.group(1), m.group(3)
            k = rng.randrange(max(1, n - len(b)), min(n - 1, len(a)) + 1) \
                if min(n - 1, len(a)) >= max(1, n - len(b)) else 0
            if k == 0:
                continue
            q = a[len(a) - k:] + b[:n - k]
            if len(q) != n or df(q, 1) != 0:
                continue  # also present without a separator: not this class
            if take(q, '"%s"' % q):
                got += 1

    # Multi-term queries.
    def words_from(d, k):
        rs = [r for r in runs[d] if len(r) >= 2]
        ws = []
        while len(ws) < k:
            r = rng.choice(rs)
            n = rng.randrange(2, min(4, len(r)) + 1)
            i = rng.randrange(len(r) - n + 1)
            w = r[i:i + n]
            if w not in ws:
                ws.append(w)
        return ws

    got = 0
    while got < 60:
        k = 2 + got % 3
        d = rng.randrange(len(texts))
        if sum(len(r) >= 2 for r in runs[d]) < 8:
            continue
        ws = words_from(d, k)
        if take(" ".join(ws), " ".join(ws)):
            got += 1
    got = 0
    while got < 60:
        k = 2 + got % 3
        ws = [sample(rng.randrange(2, 5)) for _ in range(k)]
        if len(set(ws)) == k and take(" ".join(ws), " ".join(ws)):
            got += 1
    got = 0
    while got < 40:
        k = 2 + got % 3
        ws = [sample(rng.randrange(2, 5)) for _ in range(k - 1)]
        fake = sample(2) + sample(2)
        if df(fake, 1) != 0:
            continue
        ws.insert(rng.randrange(k), fake)
        if len(set(ws)) == k and take(" ".join(ws), " ".join(ws)):
            got += 1

    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
