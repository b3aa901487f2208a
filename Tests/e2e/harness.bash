# What the end-to-end scripts share (sourced at their top, never run: make e2e runs only *.sh):
# where the binaries under test are, the helpers every test uses, and the runner.
# A script then defines ALL_TESTS, `setup` and `test_NAME` functions. Optional: TEST_TRAP, an
# EXIT trap for each test's subshell; `after_test NAME`, run after each test in the parent
# shell. It ends with: run_tests "$@". The runner prints `ok - name` / `not ok - name: why`
# (with the end of the test's log) and one closing line `N passed, M failed`; it returns
# non-zero if any test failed.

SUITE=$(basename "$0")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${PWDIR_BIN:-$ROOT/.build/release}
PWDIR_EXE=$BIN/pwdir
MODULE=$BIN/libpam_pwdir.so

bail() {  # bail WHY: the suite cannot run at all
    echo "$SUITE: $*" >&2
    exit 2
}

[ -x "$PWDIR_EXE" ] || bail "no pwdir at $PWDIR_EXE; build with 'swift build -c release' or set PWDIR_BIN"
[ -f "$MODULE" ] || bail "no libpam_pwdir.so at $MODULE; build with 'swift build -c release' or set PWDIR_BIN"
MODULE=$(cd "$(dirname "$MODULE")" && pwd -P)/$(basename "$MODULE")  # PAM lines want an absolute path
PWDIR_EXE=$(cd "$(dirname "$PWDIR_EXE")" && pwd -P)/$(basename "$PWDIR_EXE")

fail() {  # fail WHY: ends the current test
    [ -s "$REASON" ] || printf '%s\n' "$*" >"$REASON"
    echo "FAIL: $*"
    exit 1
}

note() {  # note TEXT: printed as "# TEXT" under the test's result line
    printf '%s\n' "$*" >>"$NOTES"
    echo "note: $*"
}

pw() {  # the command under test (a hang is a failure, not a stuck suite)
    timeout 60 "$PWDIR_EXE" "$@"
}

pam() {  # pam USER OP...: pamtester under pam_wrapper; stdin answers the prompts.
    # Output (stdout+stderr) in $PAM_OUT, also copied to the test log; returns pamtester's status.
    local user=$1 rc
    shift
    timeout 60 env LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$SVC" \
        ${PAM_DEBUG:+PAM_WRAPPER_DEBUGLEVEL=$PAM_DEBUG} \
        pamtester "$SERVICE" "$user" "$@" >"$PAM_OUT" 2>&1
    rc=$?
    echo "pamtester $SERVICE $user $* -> $rc"
    sed 's/^/    | /' "$PAM_OUT"
    return $rc
}

write_service() {  # write_service NAME "MODULE ARGUMENTS": the module alone in every stack of $SVC/NAME
    local type
    for type in auth account password session; do
        printf '%-8s required %s %s\n' "$type" "$MODULE" "$2"
    done >"$SVC/$1"
}

new_world() {  # new_world [MODULE ARGUMENTS]: the test's own folder T, directory DB, settings
    # CONF (PWDIR_DB / PWDIR_CONFIG point at them), pam_wrapper service folder SVC with the
    # service SERVICE ("pwtest": the module alone in every stack, nodelay), PAM_OUT
    T=$TMP/$TEST_NAME
    mkdir -p "$T/svc"
    DB=$T/users
    CONF=$T/pwdir.conf
    SVC=$T/svc
    SERVICE=pwtest
    PAM_OUT=$T/pam.out
    export PWDIR_DB=$DB PWDIR_CONFIG=$CONF
    write_service pwtest "db=$DB config=$CONF nodelay${1:+ $1}"
    write_other_service
}

login_ok() {  # login_ok USER PASSWORD [OP...]: must succeed (default op: authenticate)
    local user=$1 pass=$2
    shift 2
    [ $# -gt 0 ] || set -- authenticate
    printf '%s\n' "$pass" | pam "$user" "$@" || fail "$* of $user with '$pass' failed: $(tail -n 1 "$PAM_OUT")"
}

login_refused() {  # login_refused USER PASSWORD [OP...]: must fail
    local user=$1 pass=$2
    shift 2
    [ $# -gt 0 ] || set -- authenticate
    if printf '%s\n' "$pass" | pam "$user" "$@"; then fail "$* of $user with '$pass' succeeded"; fi
}

write_other_service() {  # pam_wrapper complains without a default "other" service
    printf '%s\n' 'auth required pam_deny.so' 'account required pam_deny.so' \
        'password required pam_deny.so' 'session required pam_deny.so' >"$SVC/other"
}

run_tests() {
    local selected=() name status why passed=0 failed=0 log
    if [ $# -gt 0 ]; then
        for name in "$@"; do
            name=${name#test_}
            declare -F "test_$name" >/dev/null || bail "no test named '$name' (tests: ${ALL_TESTS[*]})"
            selected+=("$name")
        done
    else
        selected=("${ALL_TESTS[@]}")
    fi
    for name in "${selected[@]}"; do
        log=$TMP/$name.log
        REASON=$TMP/$name.reason
        NOTES=$TMP/$name.notes
        : >"$REASON"
        : >"$NOTES"
        (
            TEST_NAME=$name
            if [ -n "${TEST_TRAP:-}" ]; then trap "$TEST_TRAP" EXIT; fi
            setup
            "test_$name"
            exit 0  # a test fails only through `fail` (or a shell error)
        ) >"$log" 2>&1 </dev/null
        status=$?
        if declare -F after_test >/dev/null; then after_test "$name"; fi
        if [ $status = 0 ]; then
            echo "ok - $name"
            passed=$((passed + 1))
        else
            why=$(head -n 1 "$REASON")
            echo "not ok - $name: ${why:-exited with status $status}"
            tail -n 40 "$log" | sed 's/^/#     /'
            failed=$((failed + 1))
        fi
        sed 's/^/# /' "$NOTES"
    done
    echo "$passed passed, $failed failed"
    [ $failed = 0 ]
}
