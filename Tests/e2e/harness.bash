# The runner shared by the end-to-end scripts (sourced, not run: make e2e runs only *.sh).
# A script defines ALL_TESTS, `setup`, `test_NAME` functions and `bail`; `fail` and `note`
# write to $REASON and $NOTES. Optional: TEST_TRAP, an EXIT trap for each test's subshell;
# `after_test NAME`, run after each test in the parent shell. Then: run_tests "$@".
# Prints `ok - name` / `not ok - name: why` (with the end of the test's log) and one closing
# line `N passed, M failed`; returns non-zero if any test failed.

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
