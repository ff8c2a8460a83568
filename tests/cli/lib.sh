# lib.sh: helpers for the CLI tests, sourced by tests/cli/*.sh.
# Each test runs the real edusearch binary ($EDUSEARCH) against a temporary
# index and checks exit codes, stdout and stderr.
set -u
ES=${EDUSEARCH:?EDUSEARCH must point at the built edusearch binary}
SAMPLES=${ES_SAMPLES_DIR:?}
T=$(mktemp -d "${TMPDIR:-/tmp}/escli.XXXXXX")
trap 'rm -rf "$T"' EXIT
export EDUSEARCH_INDEX="$T/idx"
passed=0
failed=0

# expect STATUS DESCRIPTION -- COMMAND...: run it, keep stdout in $T/out and
# stderr in $T/err, and check the exit status.
expect() {
    want=$1; what=$2; shift 3
    "$@" >"$T/out" 2>"$T/err"
    got=$?
    if [ "$got" = "$want" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $what: exit $got, expected $want: $*"
        sed 's/^/  stdout: /' "$T/out" | head -n 10
        sed 's/^/  stderr: /' "$T/err" | head -n 10
    fi
}

# contains FILE TEXT DESCRIPTION: the file holds the text.
contains() {
    if grep -q -- "$2" "$1"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $3: '$2' not in $(basename "$1")"
        sed 's/^/  | /' "$1" | head -n 10
    fi
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" = 0 ]
    exit $?
}
