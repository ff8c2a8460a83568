#!/bin/sh
# cli_errors.sh: bad input to `edusearch index`: malformed JSONL lines and
# unreadable files are reported as file:line: reason and skipped while the
# rest is committed; a damaged index is reported by check and search; an
# interrupted (SIGINT) indexing run leaves the last commit intact.
. "$(dirname "$0")/lib.sh"

cat > "$T/docs.jsonl" <<'JSONL'
{"id": "j1", "title": "关于学前教育的通知", "date": "2024-05-01", "agency": "某市教育局", "text": "推进学前教育普及普惠。"}
{"id": "j2", "text": "unterminated
{"text": "no id here"}
not json at all

{"id": "j3", "title": "第二份", "date": "2025-01-02", "text": "发展学前教育，\u5b66\u524d\u6559\u80b2。"}
JSONL
expect 2 "jsonl with bad lines" -- "$ES" index "$T/docs.jsonl"
contains "$T/err" "docs.jsonl:2: invalid JSON" "line 2 reported"
contains "$T/err" "docs.jsonl:3: missing \"id\"" "line 3 reported"
contains "$T/err" "docs.jsonl:4: invalid JSON" "line 4 reported"
expect 0 "good lines committed" -- "$ES" --count 学前教育
contains "$T/out" "^2$" "j1 and j3 indexed"
expect 0 "field query" -- "$ES" --count agency:教育局
contains "$T/out" "^1$" "stored field searchable"
expect 0 "json fields" -- "$ES" --json title:通知
contains "$T/out" '"agency":"某市教育局"' "fields in json"
expect 0 "date sort" -- "$ES" --sort date --json 学前教育
head -n 1 "$T/out" > "$T/first"
contains "$T/first" '"id":"j3"' "newest first"

expect 2 "missing file" -- "$ES" index "$T/nope.txt"
contains "$T/err" "nope.txt: No such file" "missing file named"
printf 'x' > "$T/file.pdf"
expect 2 "unsupported file" -- "$ES" index "$T/file.pdf"
contains "$T/err" "not a .txt, .md or .jsonl" "unsupported kind"

expect 0 "stdin jsonl" -- sh -c "printf '{\"id\":\"s1\",\"text\":\"标准化建设\"}\n' | '$ES' index -"
expect 0 "stdin doc found" -- "$ES" --count 标准化
contains "$T/out" "^1$" "stdin doc"

# SIGINT while indexing a slow stream: the run commits what it had, or the
# index keeps its previous commit; either way it opens and checks clean.
before=$("$ES" --count 学前教育)
( i=0; while [ $i -lt 400 ]; do
      printf '{"id":"big%d","text":"学前教育第%d号文件内容"}\n' $i $i; i=$((i + 1))
      [ $((i % 50)) = 0 ] && sleep 0.2
  done ) | sh -c 'echo $$ > "$1"; exec "$2" index -' sh "$T/pid" "$ES" \
      >/dev/null 2>"$T/int.err" &
pid=$!
sleep 0.5
kill -INT "$(cat "$T/pid")"
wait $pid
expect 0 "check after SIGINT" -- "$ES" check
expect 0 "search after SIGINT" -- "$ES" --count 学前教育
after=$(cat "$T/out")
if [ "$after" -ge "$before" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1)); echo "FAIL: lost documents after SIGINT: $before -> $after"; fi

# corrupt a postings file: check reports the file, exit 2
f=$(ls "$EDUSEARCH_INDEX"/*.post | head -n 1)
printf '\377\377\377\377' | dd of="$f" bs=1 seek=40 conv=notrunc 2>/dev/null
expect 2 "check detects damage" -- "$ES" check
contains "$T/err" "$(basename "$f")" "damaged file named"

expect 2 "second writer" -- sh -c "
  exec 9>'$EDUSEARCH_INDEX/LOCK'; flock 9; '$ES' delete j1"
contains "$T/err" "another writer" "lock message"

finish
