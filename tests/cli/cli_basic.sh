#!/bin/sh
# cli_basic.sh: every subcommand of the real binary against a temporary
# index: help and version, the default index location, indexing the sample
# documents, searching (human, --json, --count, --explain, --queries), exit codes 0/1/2,
# get, export, delete, stats, check, optimize and tokenize.
. "$(dirname "$0")/lib.sh"

expect 0 "help" -- "$ES" --help
contains "$T/out" "usage: edusearch" "help text"
expect 0 "version" -- "$ES" --version
contains "$T/out" "edusearch 0" "version text"
expect 2 "no arguments" -- "$ES"
expect 0 "index help" -- "$ES" index --help
expect 0 "search help" -- "$ES" search --help

# search before any index exists: error that says how to create one
expect 2 "search without index" -- "$ES" 集团化办学
contains "$T/err" "edusearch index" "how to create an index"

expect 0 "index samples" -- "$ES" index "$SAMPLES"
expect 0 "search default index" -- "$ES" 集团化办学
contains "$T/out" "puyang-2025-93.txt" "hit id"
contains "$T/out" "集团化办学" "snippet text"
expect 0 "explicit search subcommand" -- "$ES" search --index "$EDUSEARCH_INDEX" 集团化办学
expect 1 "no hits" -- "$ES" 量子计算机
expect 2 "bad query" -- "$ES" '"unclosed'
contains "$T/err" "byte" "query error position"
expect 2 "unknown option" -- "$ES" search --frobnicate 教育

# XDG_DATA_HOME is used when EDUSEARCH_INDEX is unset
(unset EDUSEARCH_INDEX; XDG_DATA_HOME="$T/xdg" "$ES" index "$SAMPLES" >/dev/null 2>&1)
if [ -d "$T/xdg/edusearch" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: XDG_DATA_HOME default index not created"; fi

# phrase across the PDF line break of puyang-2025-93.txt
expect 0 "phrase across line break" -- "$ES" '"教育强国"'
contains "$T/out" "puyang-2025-93.txt" "line-break phrase hit"

expect 0 "json" -- "$ES" --json 义务教育
contains "$T/out" '"id":' "json id"
contains "$T/out" '"snippet":' "json snippet"
contains "$T/out" '"matches":\[\[' "json matches"
contains "$T/out" '"fields":{' "json fields"

expect 0 "count" -- "$ES" --count 义务教育
contains "$T/out" "^2$" "both samples hold 义务教育"

expect 0 "explain" -- "$ES" --explain '义务教育 -量子'
contains "$T/out" "^query: 义务教育 -量子$" "explain echoes the query"
contains "$T/out" "^    BONUS PHRASE 义务教育" "explain shows the bare run's bonus"
contains "$T/out" "^      key 义务 (offset 0): 2 documents$" "explain counts a key"
contains "$T/out" "^  NOT$" "explain shows NOT"
contains "$T/out" "^matching: 2 documents$" "explain ends with the count"
expect 0 "explain a prefix" -- "$ES" --explain '202*'
contains "$T/out" "^  6 terms start so; any of them matches$" "explain counts a prefix's terms"
contains "$T/out" "^  term 2023: 2 documents$" "explain lists the commonest term first"
contains "$T/out" "^matching: 2 documents$" "explain's count for a prefix"
expect 1 "explain, no match" -- "$ES" --explain 量子计算机

printf '义务教育\n量子计算机\n' > "$T/queries"
expect 0 "queries file" -- "$ES" search --count --queries "$T/queries"
contains "$T/out" "^2	义务教育$" "count<TAB>query"
contains "$T/out" "^0	量子计算机$" "zero count line"

# --queries - as a co-process: each answer is written before the next query
# is read, and a commit made meanwhile is searched from the next query on
printf '量子计算机进入课堂。\n' > "$T/quantum.txt"
{
    echo 量子计算机
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
        if [ -s "$T/coproc" ]; then : > "$T/answered"; break; fi; sleep 0.25
    done
    "$ES" index "$T/quantum.txt" >/dev/null 2>&1
    sleep 1.2
    echo 量子计算机
} | "$ES" search --count --queries - >"$T/coproc" 2>"$T/err"
printf '0\t量子计算机\n1\t量子计算机\n' > "$T/want"
if cmp -s "$T/coproc" "$T/want"; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: --queries - did not answer 0 then 1:"
    sed 's/^/  | /' "$T/coproc" "$T/err"; fi
if [ -e "$T/answered" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: --queries - held its first answer back"; fi
expect 0 "delete the co-process test's document" -- "$ES" delete "$T/quantum.txt"

# one thread or eight: the same hits, scores and snippets
expect 0 "threads 8" -- "$ES" search --threads 8 --json 教育
cp "$T/out" "$T/out8"
expect 0 "threads 1" -- "$ES" search --threads 1 --json 教育
if cmp -s "$T/out" "$T/out8"; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: --threads 1 and 8 differ"; fi
expect 2 "bad threads" -- "$ES" search --threads lots 教育

expect 0 "limit/offset" -- "$ES" --limit 1 --offset 1 --json 义务教育
n=$(wc -l < "$T/out")
if [ "$n" = 1 ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: --limit 1 printed $n lines"; fi
expect 2 "bad limit" -- "$ES" --limit x 教育
expect 0 "sort by date" -- "$ES" --sort date 教育
expect 2 "bad sort" -- "$ES" --sort size 教育

expect 0 "stats" -- "$ES" stats
contains "$T/out" "documents *2" "stats documents"
contains "$T/out" "bytes postings" "stats postings bytes"
expect 0 "check" -- "$ES" check
contains "$T/out" ": ok" "check ok"

expect 0 "tokenize" -- "$ES" tokenize "濮教函〔2025〕93号"
contains "$T/out" "number" "number token"
contains "$T/out" "2025" "2025 token"
expect 0 "tokenize words" -- sh -c "printf '集团化办学' | '$ES' tokenize --words"
contains "$T/out" "word" "word tokens"

# official-document fields recognized in the samples
expect 0 "docno query" -- "$ES" --count 'docno:"濮教函〔2025〕93号"'
contains "$T/out" "^1$" "docno field"
expect 0 "facet agency" -- "$ES" stats --facet agency
contains "$T/out" "^1	濮阳市教育局$" "agency facet"
expect 0 "facet year" -- "$ES" stats --facet year
contains "$T/out" "^1	2025$" "year facet"

# indexing the same files again changes nothing
expect 0 "re-index unchanged" -- "$ES" index "$SAMPLES"
expect 0 "stats after re-index" -- "$ES" stats
contains "$T/out" "segments *1" "no new segment for unchanged files"
contains "$T/out" "documents *2" "still two documents"

expect 0 "get" -- "$ES" get "$SAMPLES/puyang-2025-93.txt"
contains "$T/out" "^id: .*puyang-2025-93.txt$" "get prints the id"
contains "$T/out" "^docno: 濮教函〔2025〕93号$" "get prints the fields"
contains "$T/out" "集团化办学" "get prints the text"
expect 0 "get two, json" -- "$ES" get --json "$SAMPLES/xinyang-2024-194.txt" "$SAMPLES/puyang-2025-93.txt"
contains "$T/out" '^{"id":".*xinyang-2024-194.txt","fields":{.*"text":"' "get --json: id, fields, text"
if [ "$(wc -l < "$T/out")" -eq 2 ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: get --json of two ids is not two lines"; fi
expect 1 "get an unknown id" -- "$ES" get "$SAMPLES/puyang-2025-93.txt" no-such-id
contains "$T/err" "no document no-such-id" "get names the missing id"
contains "$T/out" "^docno: 濮教函" "get still prints the ids it has"
expect 2 "get without an id" -- "$ES" get

# export, then index the export elsewhere: the same documents and fields,
# and exporting that gives the same lines
expect 0 "export" -- "$ES" export
cp "$T/out" "$T/export1.jsonl"
if [ "$(wc -l < "$T/export1.jsonl")" -eq 2 ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: export of two documents is not two lines"; fi
contains "$T/export1.jsonl" '"docno":"濮教函' "export keeps recognized fields"
expect 0 "index an export" -- "$ES" index --index "$T/reindexed" "$T/export1.jsonl"
expect 0 "export the reindexed" -- "$ES" export --index "$T/reindexed"
if cmp -s "$T/out" "$T/export1.jsonl"; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: export after index of an export differs"; fi
expect 0 "search the reindexed" -- "$ES" --count --index "$T/reindexed" 集团化办学
contains "$T/out" "^2$" "both samples found after reindexing"
expect 2 "export with an argument" -- "$ES" export something

# --position-pairs: a list of one's own (comments, blanks, a Traditional
# form) indexes the same documents with the same results; a line that is
# not two CJK characters and a missing file are refused
printf '# pairs\n 教育 \n\n課程\n' > "$T/pairs.txt"
expect 0 "index with own position pairs" -- "$ES" index --index "$T/pairs" \
    --position-pairs "$T/pairs.txt" "$SAMPLES"
expect 0 "search the own-pairs index" -- "$ES" --count --index "$T/pairs" '"义务教育学校"'
cp "$T/out" "$T/pairs_count"
expect 0 "search the default index" -- "$ES" --count --index "$T/reindexed" '"义务教育学校"'
if cmp -s "$T/out" "$T/pairs_count"; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: own position pairs change a phrase's count"; fi
printf '教育学\n' > "$T/badpairs.txt"
expect 2 "a position pair of three characters" -- "$ES" index --index "$T/pairs2" \
    --position-pairs "$T/badpairs.txt" "$SAMPLES"
contains "$T/err" 'position_pairs\[0\] ("教育学")' "the bad pair is named"
expect 2 "a missing position-pairs file" -- "$ES" index --index "$T/pairs2" \
    --position-pairs "$T/no-such-file" "$SAMPLES"
expect 0 "delete" -- "$ES" delete "$SAMPLES/xinyang-2024-194.txt"
expect 0 "count after delete" -- "$ES" --count 义务教育
contains "$T/out" "^1$" "one left"
expect 0 "optimize" -- "$ES" optimize
expect 0 "check after optimize" -- "$ES" check
expect 0 "stats after optimize" -- "$ES" stats
contains "$T/out" "segments *1" "one segment"
contains "$T/out" "deleted *0" "deletes purged"

finish
