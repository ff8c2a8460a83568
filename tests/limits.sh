#!/bin/sh
# limits.sh: the hardening issue's limits, run by hand (too heavy for CI):
# a 200 MB single document, a million tiny documents, a 10 000-term query,
# 10 000 nested parentheses and a 1 MB token. Prints time and peak memory
# (GNU time) per step. Usage: sh tests/limits.sh [BUILD_DIR]
set -eu
b=${1:-.}
es="$b/tools/edusearch"
t=$(mktemp -d "${TMPDIR:-/tmp}/eslimits.XXXXXX")
trap 'rm -rf "$t"' EXIT
measure() {  # label, command...
    label=$1; shift
    /usr/bin/time -f "$label: %e s, peak RSS %M KiB, exit %x" "$@" >"$t/out" 2>"$t/err" || true
    tail -n 1 "$t/err"
}

# 200 MB single document (policy text repeated, with PDF line breaks). The
# writer analyzes a document over 8 MiB in the caller's thread, alone, into
# grouped positions (about 1 byte per CJK character). The peak comes at the
# commit's flush and is about three times the text: the stored record in the
# RAM buffer, the store writer's copy of it in its block, and that block
# compressed, plus the postings (measured: 0.75 GB, was 4.3 GB).
head -c 10000 "$(dirname "$0")/../data/samples/puyang-2025-93.txt" > "$t/unit.txt"
# 20480 copies, by doubling (2^14 copies, then 4096 more): appending one copy
# at a time takes minutes on a loaded machine
cp "$t/unit.txt" "$t/big.txt"
i=0
while [ $i -lt 14 ]; do cat "$t/big.txt" "$t/big.txt" > "$t/big2.txt"; mv "$t/big2.txt" "$t/big.txt"; i=$((i + 1)); done
head -c 40960000 "$t/big.txt" > "$t/big2.txt"; cat "$t/big2.txt" >> "$t/big.txt"; rm -f "$t/big2.txt"
ls -l "$t/big.txt" | awk '{print "big document:", $5, "bytes"}'
measure "index 200 MB document" "$es" index --index "$t/big" "$t/big.txt"
measure "search it" "$es" --index "$t/big" --count '"教育强国"'
cat "$t/out"
rm -f "$t/big.txt"; rm -rf "$t/big"

# a million tiny documents
awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "{\"id\":\"d%d\",\"text\":\"第%d号 义务教育\"}\n", i, i }' > "$t/tiny.jsonl"
measure "index 1,000,000 tiny documents" "$es" index --index "$t/tiny" "$t/tiny.jsonl"
measure "count them" "$es" --index "$t/tiny" --count 义务教育
cat "$t/out"
rm -f "$t/tiny.jsonl"

# query limits: 10 000 terms, 10 000 nested parentheses (ES_ELIMIT, exit 2)
q=$(awk 'BEGIN { for (i = 0; i < 10000; i++) printf "w%d ", i }')
measure "10 000-term query" "$es" --index "$t/tiny" --count "$q"
head -c 200 "$t/err"; echo
q=$(awk 'BEGIN { for (i = 0; i < 10000; i++) printf "("; printf "x"; for (i = 0; i < 10000; i++) printf ")" }')
measure "10 000 nested parentheses" "$es" --index "$t/tiny" --count "$q"
head -c 200 "$t/err"; echo

# a 1 MB token
awk 'BEGIN { printf "{\"id\":\"tok\",\"text\":\"教育 "; for (i = 0; i < 1048576; i++) printf "a"; printf " 强国\"}\n" }' > "$t/tok.jsonl"
measure "index a 1 MB token" "$es" index --index "$t/tok" "$t/tok.jsonl"
measure "search beside it" "$es" --index "$t/tok" --count '教育 强国'
cat "$t/out"
