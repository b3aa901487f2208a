#!/usr/bin/env bash
# End-to-end tests of pwdir: the built `pwdir` command and `libpam_pwdir.so` driven from the
# outside, the module only through pamtester under pam_wrapper (or, for the host-state test,
# through the real libpam with pam_start_confdir). Nothing outside a temp dir is touched:
# no /etc/pam.d, no /etc/shadow, no system account.
#
#   Tests/e2e/run.sh [TEST...]        run every test, or only those named (e.g. story timing)
#   PWDIR_BIN=DIR Tests/e2e/run.sh    take pwdir and libpam_pwdir.so from DIR
#                                     (default: .build/release under the repository root)
#   PWDIR_E2E_KEEP=1 Tests/e2e/run.sh keep the temp dir (logs, directories) for a look
#
# Prints "ok - NAME" or "not ok - NAME: WHY" per test (a failing test's log follows as "#"
# lines), then exactly one line "N passed, M failed"; exit status 1 if any test failed.
# Needs: pamtester, libpam-wrapper, libpam0g-dev, cc, python3, setpriv, binutils. Run as root
# (the non-root chauthtok test switches to uid 65534 with setpriv).

set -u
set -o pipefail
umask 022
export LC_ALL=C

# shellcheck source=harness.bash
source "$(dirname "${BASH_SOURCE[0]}")/harness.bash"
NOBODY=65534

for tool in pamtester cc python3 setpriv nm readelf ldd cmp timeout; do
    command -v "$tool" >/dev/null || bail "missing tool: $tool"
done
ldconfig -p 2>/dev/null | grep -c 'libpam_wrapper\.so' >/dev/null || [ -e /usr/lib/x86_64-linux-gnu/libpam_wrapper.so ] ||
    bail "libpam_wrapper.so not found (apt-get install libpam-wrapper)"
[ -e /usr/include/security/pam_appl.h ] || bail "PAM headers missing (apt-get install libpam0g-dev)"
PAM_SET_ITEMS=$(ls /usr/lib/*/pam_wrapper/pam_set_items.so /usr/lib*/pam_wrapper/pam_set_items.so 2>/dev/null | head -n 1)

TMP=$(mktemp -d /tmp/pwdir-e2e.XXXXXX) || bail "mktemp failed"
if [ -n "${PWDIR_E2E_KEEP:-}" ]; then
    trap 'echo "run.sh: kept $TMP" >&2' EXIT
else
    trap 'rm -rf "$TMP"' EXIT
fi
chmod 711 "$TMP"  # uid 65534 must reach its own corner of it

# ---------------------------------------------------------------------------------------------
# Helpers. Every test runs in its own subshell with a fresh world from `setup`:
#   T (its folder), DB, CONF (PWDIR_DB / PWDIR_CONFIG point at them), SVC (service dir),
#   SERVICE (the service pamtester uses, "pwtest": auth/account/password/session, nodelay).

setup() {
    new_world
}

pam_as_nobody() {  # as pam, with real and effective uid/gid 65534
    local user=$1 rc
    shift
    timeout 60 setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
        env LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$SVC" \
        pamtester "$SERVICE" "$user" "$@" >"$PAM_OUT" 2>&1
    rc=$?
    echo "(uid $NOBODY) pamtester $SERVICE $user $* -> $rc"
    sed 's/^/    | /' "$PAM_OUT"
    return $rc
}

out_has() {  # out_has TEXT [WHAT]: the last pamtester output contains TEXT
    grep -qF -- "$1" "$PAM_OUT" || fail "${2:-pamtester output} lacks '$1': $(tr '\n' ' ' <"$PAM_OUT" | cut -c1-300)"
}

user_with_password() {  # user_with_password NAME PASSWORD: added, password set, no forced change
    pw user add "$1" >/dev/null || fail "user add $1 failed"
    printf '%s\n' "$2" | pw passwd "$1" --stdin --no-force-change >/dev/null || fail "passwd $1 --stdin failed"
}

run_cmd() {  # run_cmd ARG...: pwdir with stdout/stderr in $T/cmd.out / $T/cmd.err, returns its status
    pw "$@" >"$T/cmd.out" 2>"$T/cmd.err" </dev/null
    local rc=$?
    echo "pwdir $* -> $rc"
    sed 's/^/    err| /' "$T/cmd.err"
    return $rc
}

expect_clean_error() {  # expect_clean_error WHAT ARG...: non-zero, exactly one stderr line "pwdir: "
    local what=$1
    shift
    if run_cmd "$@"; then fail "$what: 'pwdir $*' succeeded"; fi
    local lines
    lines=$(wc -l <"$T/cmd.err")
    [ "$lines" -eq 1 ] || fail "$what: 'pwdir $*' wrote $lines lines on stderr, not one: $(tr '\n' '|' <"$T/cmd.err" | cut -c1-300)"
    grep -q '^pwdir: ' "$T/cmd.err" || fail "$what: 'pwdir $*' error does not start with 'pwdir: ': $(cat "$T/cmd.err")"
}

same_file() {  # same_file ORIGINAL CURRENT WHAT: byte-identical
    cmp -s "$1" "$2" || fail "$3 changed the directory file"
}

median() {  # median FILE: median of the numbers in FILE, one a line
    sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

syslog_lines() {  # the module's syslog lines in the last pamtester output (pam_wrapper debug)
    grep 'SYSLOG(' "$PAM_OUT"
}

syslog_has() {  # syslog_has TEXT: one of those lines holds TEXT (no grep -q: see pipefail)
    syslog_lines | grep -F -- "$1" >/dev/null
}

# ---------------------------------------------------------------------------------------------
# 1. The story (PRODUCT.md "Done when" 2): admin creates ana and generates a password; ana logs
#    in, is told to change it, changes it; the new one works, the old one no longer does.

test_story() {
    pw init >/dev/null || fail "pwdir init failed"
    [ "$(stat -c %a "$DB")" = 600 ] || fail "pwdir init made the directory mode $(stat -c %a "$DB"), not 600"
    pw user add ana >/dev/null || fail "pwdir user add ana failed"
    pw passwd ana --generate >"$T/gen.out" || fail "pwdir passwd ana --generate failed"
    cat "$T/gen.out"
    local first
    first=$(tail -n 1 "$T/gen.out")
    [ -n "$first" ] || fail "the last stdout line of passwd --generate is empty"
    [[ "$first" =~ ^[^[:space:]]{12,}$ ]] || fail "the last stdout line of passwd --generate is not a password alone: '$first'"
    [ "$(grep -cF -- "$first" "$T/gen.out")" = 1 ] || fail "the generated password appears on more than one line"
    grep -qF -- "$first" "$DB" && fail "the generated password is in the directory file in plain text"
    [ "$(stat -c %a "$DB")" = 600 ] || fail "after passwd the directory is mode $(stat -c %a "$DB"), not 600"

    login_ok ana "$first" authenticate
    if printf '%s\n' "$first" | pam ana authenticate acct_mgmt; then
        fail "acct_mgmt accepted an administrator-set password that must be changed"
    fi
    out_has "Authentication token is no longer valid; new one required" "acct_mgmt after a generated password"

    local new='Blue-Heron-Sings-7'
    printf '%s\n' "$first" "$new" "$new" | pam ana authenticate 'chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK)' ||
        fail "changing the expired password failed: $(tail -n 1 "$PAM_OUT")"
    login_ok ana "$new" authenticate acct_mgmt
    login_refused ana "$first" authenticate
    grep -qF -- "$new" "$DB" && fail "the new password is in the directory file in plain text"
    [ "$(stat -c %a "$DB")" = 600 ] || fail "after chauthtok the directory is mode $(stat -c %a "$DB"), not 600"
}

# 2. Refusals and the account states.

test_wrong_password() {
    pw init >/dev/null
    user_with_password ana 'Right-Password-1'
    login_ok ana 'Right-Password-1'
    login_refused ana 'Wrong-Password-1'
    out_has "Authentication failure"
    login_refused ana ''
    login_refused ana 'Right-Password-'
    login_refused ana 'Right-Password-11'
}

test_unknown_user() {
    pw init >/dev/null
    user_with_password ana 'Right-Password-1'
    login_refused nosuchuser 'Right-Password-1'
    out_has "User not known to the underlying authentication module"
    login_refused 'ana:x' 'Right-Password-1'
    login_refused 'ANA' 'Right-Password-1'
}

test_lock_unlock() {
    pw init >/dev/null
    user_with_password ana 'Right-Password-1'
    login_ok ana 'Right-Password-1'
    pw lock ana >/dev/null || fail "pwdir lock ana failed"
    login_refused ana 'Right-Password-1'
    out_has "Permission denied"
    grep -qi 'locked' "$PAM_OUT" || fail "the user is not told the account is locked: $(tr '\n' ' ' <"$PAM_OUT")"
    login_refused ana 'Wrong-Password-1'
    login_refused ana 'Right-Password-1' acct_mgmt
    pw unlock ana >/dev/null || fail "pwdir unlock ana failed"
    login_ok ana 'Right-Password-1' authenticate acct_mgmt
}

test_no_password_cannot_log_in() {
    pw init >/dev/null
    pw user add bob >/dev/null || fail "user add bob failed"
    login_refused bob ''
    login_refused bob 'Any-Password-123'
    login_refused bob 'x'
    login_refused bob 'Any-Password-123' acct_mgmt
}

test_no_force_change() {
    pw init >/dev/null
    user_with_password ana 'Right-Password-1'
    login_ok ana 'Right-Password-1' authenticate acct_mgmt
    # and the default (forced change) really differs
    printf '%s\n' 'Other-Password-2' | pw passwd ana --stdin >/dev/null || fail "passwd --stdin failed"
    login_refused ana 'Other-Password-2' authenticate acct_mgmt
    out_has "new one required"
}

# 3. chauthtok policy; the current password is asked and checked when the caller is not root.

test_chauthtok_policy() {
    pw init >/dev/null
    local cur='Current-Pass-42'
    user_with_password ana "$cur"
    cp "$DB" "$T/before"

    # root: no current password asked; new password twice
    if printf '%s\n' 'Short-1' 'Short-1' | pam ana chauthtok; then fail "a 7-character new password was accepted (minlen 12)"; fi
    same_file "$T/before" "$DB" "a refused short password"
    grep -q '12' "$PAM_OUT" || fail "the refusal of a short password does not say the minimum (12): $(tr '\n' ' ' <"$PAM_OUT")"
    if printf '%s\n' 'Elevenchars' 'Elevenchars' | pam ana chauthtok; then fail "an 11-character new password was accepted (minlen 12)"; fi
    same_file "$T/before" "$DB" "a refused 11-character password"
    if printf '%s\n' 'Long-Enough-Pass-1' 'Long-Enough-Pass-2' | pam ana chauthtok; then fail "mismatched new passwords were accepted"; fi
    same_file "$T/before" "$DB" "a refused mismatch"
    grep -qi 'match' "$PAM_OUT" || fail "the refusal of a mismatch does not say so: $(tr '\n' ' ' <"$PAM_OUT")"
    if printf '%s\n' "$cur" "$cur" | pam ana chauthtok; then fail "the current password was accepted as the new one"; fi
    same_file "$T/before" "$DB" "a refused same-as-current password"
    grep -Eqi 'same|current|reuse|used' "$PAM_OUT" || fail "the refusal of the current password does not say why: $(tr '\n' ' ' <"$PAM_OUT")"
    login_ok ana "$cur"

    # PAM_CHANGE_EXPIRED_AUTHTOK without a prior authenticate: the current password IS asked
    if printf '%s\n' 'Wrong-Current-1' 'Brand-New-Pass-1' 'Brand-New-Pass-1' | pam ana 'chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK)'; then
        fail "chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK) accepted a wrong current password"
    fi
    same_file "$T/before" "$DB" "a refused wrong current password (PAM_CHANGE_EXPIRED_AUTHTOK)"
    login_ok ana "$cur"
    login_refused ana 'Brand-New-Pass-1'

    # a valid change as root works (so the refusals above are not a broken chauthtok)
    printf '%s\n' 'Root-Set-Pass-1' 'Root-Set-Pass-1' | pam ana chauthtok || fail "a valid chauthtok as root failed: $(tail -n 1 "$PAM_OUT")"
    login_ok ana 'Root-Set-Pass-1'
    login_refused ana "$cur"
}

test_policy_says_why() {
    # A password holding the login: the policy may refuse it (pwquality's usercheck); if it
    # does, the user is told why, in the module and in the command alike.
    pw init >/dev/null
    user_with_password carol 'Wd6-Harbor-Nx2k'
    cp "$DB" "$T/before"
    if printf '%s\n' 'Xq7-carol-Lm4-Tz9' 'Xq7-carol-Lm4-Tz9' | pam carol chauthtok; then
        note "the policy accepts a password holding the login"
    else
        same_file "$T/before" "$DB" "a refused password holding the login"
        grep -Eqi 'user ?name|login' "$PAM_OUT" ||
            fail "the refusal of a password holding the login does not say why: $(tr '\n' ' ' <"$PAM_OUT")"
        if echo 'Xq7-carol-Lm4-Tz9' | pw passwd carol --stdin --no-force-change >/dev/null 2>"$T/err"; then
            fail "pwdir passwd accepted a password holding the login, which the module refuses"
        fi
        grep -Eqi 'user ?name|login' "$T/err" || fail "pwdir passwd's refusal of a password holding the login does not say why: $(cat "$T/err")"
        same_file "$T/before" "$DB" "a refused pwdir passwd"
    fi
}

test_chauthtok_not_root() {
    # A directory owned by uid 65534, in a folder it may write; the module is run as that uid.
    local nb=$T/nb
    mkdir -p "$nb"
    DB=$nb/users
    export PWDIR_DB=$DB
    pw init >/dev/null || fail "init failed"
    user_with_password ana 'Current-Pass-42'
    chown -R $NOBODY:$NOBODY "$nb"
    write_service pwtest "db=$DB config=$CONF nodelay"
    cp "$DB" "$T/before"

    printf '%s\n' 'Current-Pass-42' | pam_as_nobody ana authenticate || fail "ana cannot log in as uid $NOBODY: $(tail -n 1 "$PAM_OUT")"
    if printf '%s\n' 'Wrong-Current-1' 'Brand-New-Pass-1' 'Brand-New-Pass-1' | pam_as_nobody ana chauthtok; then
        fail "a non-root chauthtok with a wrong current password succeeded"
    fi
    grep -q 'Current password' "$PAM_OUT" || fail "a non-root chauthtok did not ask for the current password"
    same_file "$T/before" "$DB" "a non-root chauthtok with a wrong current password"
    if printf '%s\n' '' 'Brand-New-Pass-1' 'Brand-New-Pass-1' | pam_as_nobody ana chauthtok; then
        fail "a non-root chauthtok with an empty current password succeeded"
    fi
    same_file "$T/before" "$DB" "a non-root chauthtok with an empty current password"
    printf '%s\n' 'Current-Pass-42' 'Brand-New-Pass-1' 'Brand-New-Pass-1' | pam_as_nobody ana chauthtok ||
        fail "a non-root chauthtok with the right current password failed: $(tail -n 1 "$PAM_OUT")"
    printf '%s\n' 'Brand-New-Pass-1' | pam_as_nobody ana authenticate || fail "the password changed as uid $NOBODY does not work"
    if printf '%s\n' 'Current-Pass-42' | pam_as_nobody ana authenticate; then fail "the old password still works"; fi
    [ "$(stat -c %u "$DB")" = $NOBODY ] || fail "the module's rewrite changed the directory owner to $(stat -c %u "$DB")"
}

test_password_history() {
    # remember = 5 (the default): none of the last passwords may come back
    pw init >/dev/null
    user_with_password ana 'Kv4-Admin-Set-Tq9'
    printf '%s\n' 'Rb7-First-Own-Wx2' 'Rb7-First-Own-Wx2' | pam ana chauthtok || fail "change 1 failed: $(tail -n 1 "$PAM_OUT")"
    printf '%s\n' 'Jm3-Second-Own-Pz8' 'Jm3-Second-Own-Pz8' | pam ana chauthtok || fail "change 2 failed: $(tail -n 1 "$PAM_OUT")"
    cp "$DB" "$T/before"
    if printf '%s\n' 'Rb7-First-Own-Wx2' 'Rb7-First-Own-Wx2' | pam ana chauthtok; then
        fail "the password before the current one was accepted again (remember = 5)"
    fi
    same_file "$T/before" "$DB" "a refused reuse"
    if printf '%s\n' 'Kv4-Admin-Set-Tq9' 'Kv4-Admin-Set-Tq9' | pam ana chauthtok; then
        fail "the administrator-set password was accepted again (remember = 5)"
    fi
    same_file "$T/before" "$DB" "a refused reuse of the administrator-set password"
    grep -qF 'Kv4-Admin-Set-Tq9' "$DB" && fail "the history holds a password in plain text"
    login_ok ana 'Jm3-Second-Own-Pz8'
    # remember = 0: reuse allowed (so the refusals above come from the history)
    printf '%s\n' 'remember = 0' >"$CONF"
    printf '%s\n' 'Rb7-First-Own-Wx2' 'Rb7-First-Own-Wx2' | pam ana chauthtok || fail "with remember = 0 an old password was refused: $(tail -n 1 "$PAM_OUT")"
    login_ok ana 'Rb7-First-Own-Wx2'
}

test_lockout() {
    # deny = N failed logins in a row lock the account; `pwdir unlock` reactivates it and
    # clears the count; a success resets the count; deny = 0 never locks
    printf '%s\n' 'deny = 3' >"$CONF"
    pw init >/dev/null
    user_with_password ana 'Right-Password-1'
    login_refused ana 'Wrong-Password-1'
    login_refused ana 'Wrong-Password-2'
    login_ok ana 'Right-Password-1'  # resets the count
    login_refused ana 'Wrong-Password-1'
    login_refused ana 'Wrong-Password-2'
    login_refused ana 'Wrong-Password-3'
    login_refused ana 'Right-Password-1'
    grep -qi 'locked' "$PAM_OUT" || fail "a user locked by failures is not told so: $(tr '\n' ' ' <"$PAM_OUT")"
    sed 's/([0-9]*)//g' "$PAM_OUT" >"$T/right.out"
    login_refused ana 'Wrong-Password-4'
    sed 's/([0-9]*)//g' "$PAM_OUT" >"$T/wrong.out"
    cmp -s "$T/right.out" "$T/wrong.out" || fail "a locked account answers differently to the right and a wrong password"
    login_refused ana 'Right-Password-1' acct_mgmt
    pw unlock ana >/dev/null || fail "pwdir unlock failed"
    login_ok ana 'Right-Password-1' authenticate acct_mgmt
    # unlock cleared the count: two more failures do not lock
    login_refused ana 'Wrong-Password-1'
    login_refused ana 'Wrong-Password-2'
    login_ok ana 'Right-Password-1'
    # deny = 0: never
    printf '%s\n' 'deny = 0' >"$CONF"
    local i
    for i in 1 2 3 4 5 6; do login_refused ana "Wrong-Password-$i"; done
    login_ok ana 'Right-Password-1'
}

# 4. A typed password from standard input.

test_passwd_stdin() {
    pw init >/dev/null
    pw user add ana >/dev/null || fail "user add failed"
    echo 'Correct-Horse-42' | pw passwd ana --stdin --no-force-change >"$T/out" || fail "passwd --stdin failed"
    grep -qF 'Correct-Horse-42' "$T/out" && fail "passwd --stdin echoed the password"
    grep -qF 'Correct-Horse-42' "$DB" && fail "the password is in the directory file in plain text"
    login_ok ana 'Correct-Horse-42' authenticate acct_mgmt
    login_refused ana 'Correct-Horse-43'
    # too short for the policy: refused, nothing written
    cp "$DB" "$T/before"
    if echo 'short' | pw passwd ana --stdin --no-force-change >/dev/null 2>"$T/err"; then fail "passwd --stdin accepted a 5-character password"; fi
    same_file "$T/before" "$DB" "a refused short --stdin password"
    login_ok ana 'Correct-Horse-42'
}

# 5. Output and errors of the command (PRODUCT.md "Done when" 3).

test_json_output() {
    pw init >/dev/null
    pw user add ana --email ana@example.org --full-name 'Ana Lopez' >/dev/null || fail "user add ana failed"
    pw user add bob >/dev/null || fail "user add bob failed"
    pw passwd ana --generate >/dev/null || fail "passwd --generate failed"
    printf '%s\n' 'Dn4-Quartz-Vy7p' | pw passwd bob --stdin >/dev/null || fail "passwd --stdin failed"
    local what
    for what in "user show ana --json" "user show bob --json" "user list --json" "user find ana --json" "user find example --json"; do
        # shellcheck disable=SC2086
        pw $what >"$T/json" 2>"$T/err" || fail "pwdir $what failed: $(cat "$T/err")"
        cat "$T/json"
        python3 -m json.tool <"$T/json" >/dev/null 2>&1 || fail "pwdir $what is not valid JSON"
        grep -qF '$y$' "$T/json" && fail "pwdir $what shows a hash"
        grep -qF 'userPassword' "$T/json" && fail "pwdir $what shows userPassword"
        grep -qF '{CRYPT}' "$T/json" && fail "pwdir $what shows {CRYPT}"
        grep -q '"ana"' "$T/json" || [[ "$what" == *bob* ]] || fail "pwdir $what does not mention ana"
    done
    pw user list --json >"$T/json"
    python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
users = doc["users"] if isinstance(doc, dict) else doc
logins = sorted(u["login"] for u in users)
sys.exit(0 if logins == ["ana", "bob"] else 1)' "$T/json" || fail "user list --json does not list exactly ana and bob"
    # the human outputs never show a hash either
    pw user show ana >"$T/txt" && pw user list >>"$T/txt" || fail "user show/list failed"
    grep -qF '$y$' "$T/txt" && fail "user show/list shows a hash"
    grep -qF 'userPassword' "$T/txt" && fail "user show/list shows userPassword"
    return 0
}

test_bad_names() {
    pw init >/dev/null
    user_with_password ana 'Right-Password-1'
    cp "$DB" "$T/before"
    local long nl name i
    long=$(printf 'a%.0s' $(seq 1 65))
    nl=$'a\nb'
    local names=("a:b" "a/b" "$long" "" "$nl" ".x" "a b" "a%b" $'a\tb')
    for i in "${!names[@]}"; do
        name=${names[$i]}
        expect_clean_error "bad name #$i" user add -- "$name"
        same_file "$T/before" "$DB" "user add of bad name #$i"
        expect_clean_error "bad name #$i" lock -- "$name"
        expect_clean_error "bad name #$i" passwd --generate -- "$name"
        expect_clean_error "bad name #$i" user modify --full-name X -- "$name"
        expect_clean_error "bad name #$i" user show -- "$name"
        same_file "$T/before" "$DB" "commands on bad name #$i"
    done
    # a name starting with '-': as an option, and after --
    expect_clean_error "name -x" user add -x
    expect_clean_error "name -x" user add -- -x
    grep -q 'x' "$T/cmd.err" || fail "the error for '-x' does not name it"
    same_file "$T/before" "$DB" "user add -x"
    # 64 characters is the longest valid name
    pw user add "${long:1}" >/dev/null || fail "a 64-character name was refused"
    pw user remove "${long:1}" >/dev/null || fail "could not remove the 64-character name"
    cp "$DB" "$T/before"
    # duplicate
    expect_clean_error "duplicate name" user add ana
    same_file "$T/before" "$DB" "a duplicate user add"
    login_ok ana 'Right-Password-1'
}

MISSING_DIR_COMMANDS=("user list" "user list --json" "user show ana" "user find ana" "user add bob"
    "user modify ana --full-name X" "user remove ana" "passwd ana --generate" "lock ana" "unlock ana")

test_missing_directory() {
    local db=$T/empty/users args
    mkdir -p "$T/empty"
    export PWDIR_DB=$db
    for args in "${MISSING_DIR_COMMANDS[@]}"; do
        # shellcheck disable=SC2086
        expect_clean_error "missing directory" $args
        grep -qF "$db" "$T/cmd.err" || fail "'pwdir $args' on a missing directory does not name it: $(cat "$T/cmd.err")"
        [ ! -e "$db" ] || fail "'pwdir $args' created $db"
    done
    echo 'Some-Password-12' | pw passwd ana --stdin >/dev/null 2>"$T/err" && fail "passwd --stdin on a missing directory succeeded"
    [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q '^pwdir: ' "$T/err" || fail "passwd --stdin on a missing directory: unclean error: $(cat "$T/err")"
    # a missing folder too
    PWDIR_DB=$T/nofolder/users expect_clean_error "missing folder" user add bob
    # the module: fails closed (PAM_AUTHINFO_UNAVAIL), says so in syslog
    write_service pwtest "db=$db config=$CONF nodelay"
    PAM_DEBUG=4 login_refused ana 'Some-Password-12'
    out_has "Authentication service cannot retrieve authentication info" "authenticate on a missing directory"
    syslog_has "$db" || fail "no syslog line names the missing directory: $(syslog_lines | tr '\n' ' ')"
    login_refused ana 'Some-Password-12' acct_mgmt
    printf '%s\n' 'Brand-New-Pass-1' 'Brand-New-Pass-1' | pam ana chauthtok && fail "chauthtok on a missing directory succeeded"
    [ ! -e "$db" ] || fail "the module created $db"
}

test_missing_directory_leaves_no_files() {
    # "nothing is half-written": a command that fails on a missing directory leaves nothing
    # behind in its folder (e.g. no users.lock where a mistyped --db pointed)
    local db=$T/empty/users args
    mkdir -p "$T/empty"
    export PWDIR_DB=$db
    for args in "${MISSING_DIR_COMMANDS[@]}"; do
        # shellcheck disable=SC2086
        run_cmd $args && fail "'pwdir $args' succeeded on a missing directory"
        [ -z "$(ls -A "$T/empty")" ] || fail "'pwdir $args' on a missing directory left files behind: $(ls -A "$T/empty" | tr '\n' ' ')"
    done
    write_service pwtest "db=$db config=$CONF nodelay"
    printf '%s\n' 'Brand-New-Pass-1' 'Brand-New-Pass-1' | pam ana chauthtok
    [ -z "$(ls -A "$T/empty")" ] || fail "the module's chauthtok on a missing directory left files behind: $(ls -A "$T/empty" | tr '\n' ' ')"
}

corrupt_variant() {  # corrupt_variant KIND SRC DST
    case $1 in
        garbage) { cat "$2"; printf 'this is not a user line\n'; } >"$3" ;;
        truncated) head -c -4 "$2" >"$3" ;;  # the trailer cut short, no final newline
        cut) head -n 3 "$2" | head -c -30 >"$3" ;;  # the file cut in the middle of the last user line
        header) { echo 'passwd-file 1'; tail -n +2 "$2"; } >"$3" ;;
    esac
    chmod 600 "$3"
}

test_corrupt_directory() {
    pw init >/dev/null
    user_with_password ana 'Right-Password-1'
    user_with_password bob 'Dn4-Quartz-Vy7p'
    login_ok ana 'Right-Password-1'
    cp "$DB" "$T/pristine"
    # line of the error for each kind: header=1, ana=2, bob=3, trailer=4
    local kind line
    for kind in garbage truncated cut header; do
        case $kind in garbage) line='(4|5)' ;; truncated) line=4 ;; cut) line=3 ;; header) line=1 ;; esac
        corrupt_variant $kind "$T/pristine" "$T/$kind"
        cp -p "$T/$kind" "$DB"
        local args
        for args in "user add carol" "user modify ana --full-name X" "user remove bob" "passwd ana --generate" \
            "lock ana" "unlock ana" "user list" "user show ana"; do
            # shellcheck disable=SC2086
            expect_clean_error "$kind directory" $args
            grep -Eq "line $line\b" "$T/cmd.err" || fail "$kind directory: 'pwdir $args' does not name line $line: $(cat "$T/cmd.err")"
            same_file "$T/$kind" "$DB" "'pwdir $args' on a $kind directory"
        done
        echo 'Another-Pass-123' | pw passwd ana --stdin --no-force-change >/dev/null 2>"$T/err" &&
            fail "$kind directory: passwd --stdin succeeded"
        grep -Eq "^pwdir: .*line $line\b" "$T/err" || fail "$kind directory: passwd --stdin error: $(cat "$T/err")"
        same_file "$T/$kind" "$DB" "passwd --stdin on a $kind directory"
        # the module fails closed, even for the right password, and says why in syslog
        PAM_DEBUG=4 login_refused ana 'Right-Password-1'
        syslog_has "$DB" || fail "$kind directory: no syslog line names the directory: $(syslog_lines | tr '\n' ' ')"
        login_refused bob 'Dn4-Quartz-Vy7p'
        printf '%s\n' 'Brand-New-Pass-1' 'Brand-New-Pass-1' | pam ana chauthtok && fail "$kind directory: chauthtok succeeded"
        same_file "$T/$kind" "$DB" "the module on a $kind directory"
    done
    cp -p "$T/pristine" "$DB"
    login_ok ana 'Right-Password-1'
}

test_corrupt_duplicate_login() {
    # The command parses every line; the module reads only the lines its search probes. A login
    # that appears twice (one copy locked by the administrator, one not) must not let the module
    # pick the unlocked copy where the command reports the line as corrupt.
    pw init >/dev/null
    user_with_password ana 'Right-Password-1'
    local hash layout granted=""
    hash=$(grep -o 'userPassword=[^	]*' "$DB" | head -n 1)
    [ -n "$hash" ] || fail "no userPassword in the directory"
    for layout in "0 0 10" "0 0 60" "0 10 30" "1 10 0" "1 30 10" "0 0 0" "1 0 0"; do
        # shellcheck disable=SC2086
        python3 - "$DB" "$hash" $layout <<'EOF'
import os, sys
path, attr, order, pre, post = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
line = "uid=ana\t" + attr
locked = line + "\tpwdAccountLockedTime=000001010000Z"
pair = [locked, line] if order == 0 else [line, locked]
body = ["uid=a%02d" % i for i in range(pre)] + pair + ["uid=b%02d" % i for i in range(post)]
tmp = path + ".new"
with open(tmp, "w") as f:
    f.write("pwdir-directory 1\n" + "\n".join(body) + "\n#end users=%d\n" % len(body))
os.chmod(tmp, 0o600)
os.rename(tmp, path)
EOF
        expect_clean_error "duplicate login (layout $layout)" user list
        grep -q 'line [0-9]' "$T/cmd.err" || fail "the duplicate login error names no line: $(cat "$T/cmd.err")"
        if printf '%s\n' 'Right-Password-1' | pam ana authenticate; then granted="$granted [$layout]"; fi
    done
    [ -z "$granted" ] || fail "the module let ana (locked in one of two lines) log in with layouts (order pre post):$granted"
}

test_symlinks() {
    pw init >/dev/null
    user_with_password ana 'Right-Password-1'
    printf 'precious\n' >"$T/victim"
    cp "$T/victim" "$T/victim.orig"
    # a temp file left as a symlink: replaced, never written through
    ln -s "$T/victim" "$DB+"
    pw user add bob >/dev/null || fail "user add failed with a symlink left at $DB+"
    same_file "$T/victim.orig" "$T/victim" "a write with $DB+ a symlink (the victim file)"
    [ ! -e "$DB+" ] && [ ! -L "$DB+" ] || fail "$DB+ left behind"
    # the backup as a symlink
    rm -f "$DB-"
    ln -s "$T/victim" "$DB-"
    pw user add carol >/dev/null || fail "user add failed with a symlink at $DB-"
    same_file "$T/victim.orig" "$T/victim" "a write with $DB- a symlink (the victim file)"
    # the lock file as a symlink: not followed (refusing is fine, then with one clean line)
    rm -f "$DB.lock"
    ln -s "$T/victim" "$DB.lock"
    cp "$DB" "$T/before"
    if ! run_cmd user add dave; then
        [ "$(wc -l <"$T/cmd.err")" -eq 1 ] && grep -q '^pwdir: ' "$T/cmd.err" || fail "unclean error with a symlinked lock file: $(cat "$T/cmd.err")"
        same_file "$T/before" "$DB" "a refused write with a symlinked lock file"
    fi
    same_file "$T/victim.orig" "$T/victim" "a write with $DB.lock a symlink (the victim file)"
    [ "$(stat -c %a "$T/victim")" = 644 ] || fail "the victim's mode changed to $(stat -c %a "$T/victim")"
    rm -f "$DB.lock"
    # the directory itself as a symlink: refused by the command, the module fails closed
    mv "$DB" "$T/real"
    ln -s "$T/real" "$DB"
    expect_clean_error "symlinked directory" user list
    login_refused ana 'Right-Password-1'
    rm -f "$DB"
    mv "$T/real" "$DB"
    login_ok ana 'Right-Password-1'
    # a directory others may write: refused by both
    chmod 620 "$DB"
    expect_clean_error "group-writable directory" user list
    login_refused ana 'Right-Password-1'
    chmod 600 "$DB"
    login_ok ana 'Right-Password-1'
}

make_directory_with() {  # make_directory_with PATH N ATTR U...: N users uNNNNN; ATTR added to the users U...
    python3 - "$@" <<'EOF'
import os, sys
path, n, attr, chosen = sys.argv[1], int(sys.argv[2]), sys.argv[3], set(sys.argv[4:])
out = [b"pwdir-directory 1\n"]
for i in range(n):
    login = "u%06d" % i
    line = "uid=%s\tcn=User %06d" % (login, i)
    if login in chosen:
        line += "\t" + attr
    out.append((line + "\n").encode())
out.append(b"#end users=%d\n" % n)
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, b"".join(out))
os.close(fd)
EOF
}

test_big_directory_login() {
    # PRODUCT.md: a login costs one yescrypt hash plus well under a millisecond, also with
    # 100,000 users. Through pamtester only a gross cost is visible: the big directory may
    # not add more than 20 ms (reading and parsing the whole file takes about 200 ms here).
    printf '%s\n' 'deny = 1000' >"$CONF"  # the timed wrong passwords must not lock the users
    pw init >/dev/null
    user_with_password u000000 'Right-Password-1'
    local hash big=$T/big
    hash=$(grep -o 'userPassword=[^	]*' "$DB" | head -n 1)
    make_directory_with "$big" 100000 "$hash" u000000 u049999 u050000 u099999 || fail "could not write the big directory"
    write_service big "db=$big config=$CONF nodelay"
    SERVICE=big
    local u
    for u in u000000 u049999 u050000 u099999; do login_ok $u 'Right-Password-1'; done
    login_refused u000001 'Right-Password-1'
    login_refused u100000 'Right-Password-1'
    out_has "User not known"
    # 9 alternating runs; one more round if the first is over the bound (load bursts)
    local round i t0 t1 ms mb
    for round in 1 2; do
        : >"$T/small.t"
        : >"$T/big.t"
        for i in $(seq 1 9); do
            SERVICE=pwtest
            t0=$(date +%s%N)
            printf 'Wrong-Password-1\n' | pam u000000 authenticate >/dev/null
            t1=$(date +%s%N)
            echo $((t1 - t0)) >>"$T/small.t"
            SERVICE=big
            t0=$(date +%s%N)
            printf 'Wrong-Password-1\n' | pam u050000 authenticate >/dev/null
            t1=$(date +%s%N)
            echo $((t1 - t0)) >>"$T/big.t"
        done
        ms=$(median "$T/small.t")
        mb=$(median "$T/big.t")
        note "median login: 1 user $((ms / 1000)) us, 100,000 users $((mb / 1000)) us"
        [ $((mb - ms)) -le 20000000 ] && return 0
    done
    fail "a login in a 100,000-user directory costs $(((mb - ms) / 1000)) us more than in a 1-user one (twice)"
}

test_db_option() {
    # PRODUCT.md: "`pwdir --db PATH` (or env `PWDIR_DB`) selects the directory file"
    export PWDIR_DB=$T/decoy  # must never be used while --db is given
    local db=$T/explicit
    run_cmd init --db "$db" || fail "pwdir init --db PATH failed: $(cat "$T/cmd.err")"
    run_cmd user add ana --db "$db" || fail "pwdir user add ana --db PATH failed: $(cat "$T/cmd.err")"
    [ ! -e "$T/decoy" ] || fail "--db PATH did not override PWDIR_DB"
    PWDIR_DB=$db run_cmd user show ana || fail "PWDIR_DB did not select the directory"
    run_cmd --db "$db" user add bob ||
        fail "'pwdir --db PATH user add bob' (the option before the subcommand, as PRODUCT.md writes it) failed: $(cat "$T/cmd.err")"
    run_cmd --db "$db" --config "$CONF" user list || fail "'pwdir --db PATH --config PATH user list' failed: $(cat "$T/cmd.err")"
    grep -q '^uid=bob' "$db" || fail "bob is not in the directory given with --db"
    [ ! -e "$T/decoy" ] || fail "a command wrote to PWDIR_DB although --db was given"
}

test_config_minlen() {
    # settings reach both the command (PWDIR_CONFIG) and the module (config=)
    printf '%s\n' '# test settings' 'minlen = 16' >"$CONF"
    pw init >/dev/null
    pw user add ana >/dev/null
    echo 'Fifteen-chars-1' | pw passwd ana --stdin --no-force-change >/dev/null 2>"$T/err" &&
        fail "pwdir passwd accepted 15 characters with minlen = 16"
    grep -q '^pwdir: ' "$T/err" || fail "unclear refusal: $(cat "$T/err")"
    echo 'Sixteen-chars-12' | pw passwd ana --stdin --no-force-change >/dev/null || fail "pwdir passwd refused 16 characters"
    cp "$DB" "$T/before"
    if printf '%s\n' 'Fifteen-chars-2' 'Fifteen-chars-2' | pam ana chauthtok; then fail "the module accepted 15 characters with minlen = 16"; fi
    grep -q '16' "$PAM_OUT" || fail "the module's refusal does not say the minimum (16): $(tr '\n' ' ' <"$PAM_OUT")"
    same_file "$T/before" "$DB" "a refused chauthtok"
    printf '%s\n' 'Seventeen-chars-1' 'Seventeen-chars-1' | pam ana chauthtok || fail "a 17-character password was refused"
    login_ok ana 'Seventeen-chars-1'
    # a malformed setting: the module fails closed, the command says which line
    printf '%s\n' 'minlen = 16' 'deny = lots' >"$CONF"
    login_refused ana 'Seventeen-chars-1'
    expect_clean_error "bad settings" user list
    grep -q 'line 2' "$T/cmd.err" || fail "the settings error does not name line 2: $(cat "$T/cmd.err")"
}

# 6. Concurrency and killed writers (PRODUCT.md "Done when" 4).

test_concurrent_writers() {
    pw init >/dev/null
    local i
    for i in $(seq -w 1 16); do pw user add "u$i" >/dev/null || fail "user add u$i failed"; done
    user_with_password victim 'Hq5-Zebra-Tk8w'  # (the failures may lock victim: not checked)
    user_with_password changer 'Mv8-Loop-Pw-0'

    # failing logins for victim, in a loop, while the writers run
    (
        PAM_OUT=$T/loop.out
        n=0 bad=0
        while [ ! -e "$T/stop" ]; do
            printf 'Wrong-Password-9\n' | pam victim authenticate >/dev/null 2>&1 && bad=$((bad + 1))
            n=$((n + 1))
        done
        echo "$n $bad" >"$T/loop.count"
    ) &
    local looper=$!
    # and the module writing too: changer's password changed again and again (root: no current
    # password asked); the last change that succeeded is the one that must work afterwards
    (
        PAM_OUT=$T/changer.out
        k=0 last='Mv8-Loop-Pw-0'
        while [ ! -e "$T/stop" ]; do
            k=$((k + 1))
            printf 'Mv8-Loop-Pw-%s\n' "$k" "$k" | pam changer chauthtok >/dev/null 2>&1 && last="Mv8-Loop-Pw-$k"
        done
        echo "$k $last" >"$T/changer.count"
    ) &
    local changer=$!
    sleep 0.2
    local pids=()
    for i in $(seq -w 1 16); do
        (
            printf 'Zx9-Kite-%s-Qp\n' "$((10#$i * 7919))" | pw passwd "u$i" --stdin --no-force-change >"$T/w$i.out" 2>&1
            echo $? >"$T/w$i.rc"
        ) &
        pids+=($!)
    done
    wait "${pids[@]}"
    touch "$T/stop"
    wait $looper $changer
    local n bad k last
    read -r n bad <"$T/loop.count"
    read -r k last <"$T/changer.count"
    note "$n failing logins and $k password changes through the module ran alongside the 16 writers"
    [ "$n" -ge 1 ] || fail "the login loop did not run"
    [ "$bad" = 0 ] || fail "$bad wrong-password logins succeeded during the writes"
    for i in $(seq -w 1 16); do
        [ "$(cat "$T/w$i.rc")" = 0 ] || fail "pwdir passwd u$i failed: $(cat "$T/w$i.out")"
    done
    [ "$(grep -c '^uid=' "$DB")" = 18 ] || fail "the directory holds $(grep -c '^uid=' "$DB") users, not 18"
    pw user list >/dev/null || fail "user list fails after the concurrent writes"
    for i in $(seq -w 1 16); do
        login_ok "u$i" "Zx9-Kite-$((10#$i * 7919))-Qp" authenticate acct_mgmt
    done
    [ "$last" != 'Mv8-Loop-Pw-0' ] || fail "no password change through the module succeeded during the writes"
    login_ok changer "$last"
    [ ! -e "$DB+" ] || fail "a temp file $DB+ was left behind"
}

make_big_directory() {  # make_big_directory PATH N: N users uNNNNN, in the directory's text format
    python3 - "$1" "$2" <<'EOF'
import os, sys
path, n = sys.argv[1], int(sys.argv[2])
lines = sorted(("uid=u%05d\tcn=User %05d\n" % (i, i)).encode() for i in range(n))
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, b"pwdir-directory 1\n" + b"".join(lines) + b"#end users=%d\n" % n)
os.close(fd)
EOF
}

test_killed_writer() {
    make_big_directory "$DB" 20000 || fail "could not write the 20,000-user directory"
    pw user list >/dev/null || fail "pwdir cannot read the generated 20,000-user directory"
    local old new i pid ms delay before=0 after=0 t0 t1 span
    # how long one write takes here, so that the kills land anywhere in it, also after the rename
    t0=$(date +%s%N)
    pw user add calibrate >/dev/null || fail "user add on the 20,000-user directory failed"
    t1=$(date +%s%N)
    span=$(((t1 - t0) / 1000000 * 6 / 5))
    [ $span -ge 50 ] || span=50
    note "one user add takes $(((t1 - t0) / 1000000)) ms; kills after 0..$span ms"
    old=$(grep -c '^uid=' "$DB")
    [ "$old" = 20001 ] || fail "the directory holds $old users, not 20,001"
    for i in $(seq 1 15); do
        ms=$((RANDOM % (span + 1)))
        delay=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
        "$PWDIR_EXE" user add "k$i" >/dev/null 2>&1 &
        pid=$!
        sleep "$delay"
        kill -9 $pid 2>/dev/null
        wait $pid 2>/dev/null
        timeout 60 "$PWDIR_EXE" user list >/dev/null 2>"$T/err" || fail "after kill #$i (${delay}s): user list fails: $(cat "$T/err")"
        new=$(grep -c '^uid=' "$DB")
        if [ "$new" = "$old" ]; then
            before=$((before + 1))
        elif [ "$new" = $((old + 1)) ]; then
            after=$((after + 1))
        else
            fail "after kill #$i (${delay}s) the directory holds $new users; expected $old or $((old + 1))"
        fi
        [ "$(tail -n 1 "$DB")" = "#end users=$new" ] || fail "after kill #$i the trailer is '$(tail -n 1 "$DB")'"
        old=$new
    done
    note "15 kills: $before left the old directory, $after the new one"
    pw user add final >/dev/null || fail "a write after the kills failed"
    [ ! -e "$DB+" ] || fail "$DB+ left behind after a successful write"
    [ "$(grep -c '^uid=' "$DB")" = $((old + 1)) ] || fail "the write after the kills lost users"
    [ "$(stat -c %a "$DB")" = 600 ] || fail "the directory is mode $(stat -c %a "$DB") after the kills"
}

# 7. What the module exports and links (PRODUCT.md: only pam_sm_*, no Swift runtime libraries).

test_exports_and_linkage() {
    local expected="pam_sm_acct_mgmt pam_sm_authenticate pam_sm_chauthtok pam_sm_close_session pam_sm_open_session pam_sm_setcred"
    nm -D --defined-only "$MODULE" >"$T/nm" || fail "nm -D failed"
    cat "$T/nm"
    # global = upper-case type letter; version-definition symbols (type A) are not code or data
    local globals
    globals=$(awk 'NF >= 3 && $2 ~ /^[A-Z]$/ && $2 != "A" { print $3 }' "$T/nm" | sed 's/@.*//' | sort -u | tr '\n' ' ')
    [ "${globals% }" = "$expected" ] || fail "exported globals are [${globals% }], not the six pam_sm_*"
    ldd "$MODULE" >"$T/ldd" 2>&1 || fail "ldd failed: $(cat "$T/ldd")"
    cat "$T/ldd"
    grep -Ei 'libswift|Foundation|libdispatch|BlocksRuntime|libicu' "$T/ldd" && fail "the module links Swift runtime libraries: $(grep -Ei 'swift|Foundation|dispatch|Blocks|icu' "$T/ldd" | tr '\n' ' ')"
    grep -q 'not found' "$T/ldd" && fail "the module has unresolved libraries: $(grep 'not found' "$T/ldd")"
    readelf -d "$MODULE" >"$T/dyn" || fail "readelf -d failed"
    grep -q 'FLAGS_1.*NODELETE' "$T/dyn" || fail "the module is not marked NODELETE (-z nodelete)"

    cc -Wall -o "$T/dlopen_check" "$HERE/dlopen_check.c" -ldl || fail "cannot compile dlopen_check.c"
    # and up to 300 internal names from the full symbol table, when the library has one
    nm --defined-only "$MODULE" 2>/dev/null | awk '{ print $NF }' | grep -E '^(\$s|swift_|cpwdir_|_swift)' | head -n 300 >"$T/internal" || true
    note "dlopen check also probes $(wc -l <"$T/internal") names from the module's symbol table"
    mapfile -t internal <"$T/internal"
    "$T/dlopen_check" "$MODULE" "${internal[@]}" >"$T/dl.out" 2>&1 ||
        fail "dlopen check: $(grep -Ev '^(checked|dlopen took)' "$T/dl.out" | head -n 5 | tr '\n' ' ')"
    cat "$T/dl.out"
    # PRODUCT.md: "the module loads in a few milliseconds" (200 ms catches only gross trouble)
    local us
    us=$(sed -n 's/^dlopen took \([0-9]*\) us$/\1/p' "$T/dl.out")
    note "dlopen took $((us / 1000)).$((us % 1000 / 100)) ms"
    [ "${us:-999999}" -le 200000 ] || fail "dlopen of the module took ${us} us"
}

# 8. Host state: 20 logins in one process leave it as found.

test_host_state() {
    pw init >/dev/null
    user_with_password ana 'Host-State-Pass-1'
    cc -Wall -O1 -o "$T/hoststate" "$HERE/hoststate.c" -lpam || fail "cannot compile hoststate.c"
    "$T/hoststate" --self-test >"$T/self.out" 2>&1 || fail "hoststate self-test: $(tail -n 1 "$T/self.out")"
    # the service file names the module by absolute path; no pam_wrapper here
    (cd "$T" && timeout 120 "$T/hoststate" "$SVC" "$SERVICE" ana 'Host-State-Pass-1' 20) >"$T/hs.out" 2>&1
    local rc=$?
    cat "$T/hs.out"
    [ $rc = 0 ] || fail "host state: $(grep -v '^ *[-+] ' "$T/hs.out" | grep -v '^conversation' | head -n 6 | tr '\n' ' ')"
    # the write paths too: per round a counted failure, a login, a password change
    printf '%s\n' 'remember = 0' 'deny = 1000' >"$CONF"
    (cd "$T" && timeout 120 "$T/hoststate" "$SVC" "$SERVICE" ana 'Host-State-Pass-1' 10 'Wrong-Password-1' 'Other-State-Pass-2') >"$T/hs3.out" 2>&1
    rc=$?
    cat "$T/hs3.out"
    [ $rc = 0 ] || fail "host state (with failures and password changes): $(grep -v '^ *[-+] ' "$T/hs3.out" | grep -v '^conversation' | head -n 6 | tr '\n' ' ')"
    login_ok ana 'Host-State-Pass-1'  # 10 changes: back to the first password
    # a wrong password must fail, so the loop above really authenticated
    (cd "$T" && timeout 60 "$T/hoststate" "$SVC" "$SERVICE" ana 'Wrong-Password-1' 1) >"$T/hs2.out" 2>&1 &&
        fail "hoststate reported success with a wrong password"
    grep -q 'pam_authenticate' "$T/hs2.out" || fail "hoststate did not report the failed pam_authenticate"
}

# 9. Timing (PRODUCT.md "Done when" 5): unknown user and wrong password cost the same.

timing_round() {  # timing_round N: N alternating runs; prints "RATIO ok|bad" and notes the medians
    local i t0 t1 mw mu verdict
    : >"$T/wrong"
    : >"$T/unknown"
    for i in $(seq 1 "$1"); do
        t0=$(date +%s%N)
        printf 'Wrong-Password-1\n' | pam ana authenticate >/dev/null && fail "a wrong password succeeded"
        t1=$(date +%s%N)
        echo $((t1 - t0)) >>"$T/wrong"
        t0=$(date +%s%N)
        printf 'Wrong-Password-1\n' | pam nosuchuser authenticate >/dev/null && fail "an unknown user succeeded"
        t1=$(date +%s%N)
        echo $((t1 - t0)) >>"$T/unknown"
    done
    mw=$(median "$T/wrong")
    mu=$(median "$T/unknown")
    verdict=$(awk -v w="$mw" -v u="$mu" 'BEGIN { r = u / w; printf "%.3f %s", r, (r >= 0.8 && r <= 1.25) ? "ok" : "bad" }')
    note "median wrong password $((mw / 1000)) us, unknown user $((mu / 1000)) us, ratio ${verdict% *}"
    echo "$verdict" >"$T/verdict"
}

test_timing() {
    # deny = 1000: every wrong password takes the wrong-password path (failure counted) and not,
    # after a few, the locked-account path
    printf '%s\n' 'deny = 1000' >"$CONF"
    pw init >/dev/null
    user_with_password ana 'Right-Password-1'
    printf 'x\n' | pam ana authenticate >/dev/null  # warm the caches
    printf 'x\n' | pam nosuchuser authenticate >/dev/null
    # 15 alternating runs of each; one more round if the first is out of bounds, so that a
    # burst of load on a shared machine is not reported as a timing oracle (a real one, such
    # as a skipped hash, is far outside the bounds every time)
    local round verdict
    for round in 1 2; do
        timing_round 15
        verdict=$(cat "$T/verdict")
        [ "${verdict#* }" = ok ] && return 0
    done
    fail "unknown user / wrong password time ratio ${verdict% *} is outside [0.8, 1.25] (twice)"
}

# 10. Module arguments.

test_unknown_module_argument() {
    pw init >/dev/null
    user_with_password ana 'Right-Password-1'
    write_service pwtest "db=$DB config=$CONF nodelay frobnicate=1"
    PAM_DEBUG=4 login_ok ana 'Right-Password-1' authenticate acct_mgmt
    grep -q 'unknown module argument' "$PAM_OUT" || fail "the unknown argument is not logged"
    grep -q 'frobnicate' "$PAM_OUT" || fail "the log does not name the unknown argument"
    login_refused ana 'Wrong-Password-1'
}

test_use_first_pass() {
    [ -n "$PAM_SET_ITEMS" ] || { note "skipped: pam_set_items.so (pam_wrapper) not found"; return 0; }
    pw init >/dev/null
    user_with_password ana 'Right-Password-1'
    # pam_set_items (from pam_wrapper) copies PAM_AUTHTOK from the environment into the item
    printf '%s\n' "auth required $PAM_SET_ITEMS" "auth required $MODULE db=$DB config=$CONF nodelay use_first_pass" >"$SVC/ufp"
    printf '%s\n' "auth required $PAM_SET_ITEMS" "auth required $MODULE db=$DB config=$CONF nodelay try_first_pass" >"$SVC/tfp"
    SERVICE=ufp
    PAM_AUTHTOK='Right-Password-1' pam ana authenticate </dev/null || fail "use_first_pass with the right token failed"
    grep -q 'Password:' "$PAM_OUT" && fail "use_first_pass prompted although a token was set"
    if PAM_AUTHTOK='Wrong-Password-1' pam ana authenticate </dev/null; then fail "use_first_pass with a wrong token succeeded"; fi
    grep -q 'Password:' "$PAM_OUT" && fail "use_first_pass prompted after a wrong token"
    if printf 'Right-Password-1\n' | pam ana authenticate; then fail "use_first_pass without a token succeeded (it must not prompt)"; fi
    SERVICE=tfp
    PAM_AUTHTOK='Right-Password-1' pam ana authenticate </dev/null || fail "try_first_pass with the right token failed"
    printf 'Right-Password-1\n' | pam ana authenticate || fail "try_first_pass without a token did not prompt"
    grep -q 'Password:' "$PAM_OUT" || fail "try_first_pass without a token did not prompt"

    # use_authtok: the new password comes from a module above (as after pam_pwquality)
    printf '%s\n' "password required $PAM_SET_ITEMS" "password required $MODULE db=$DB config=$CONF nodelay use_authtok" >"$SVC/uat"
    SERVICE=uat
    cp "$DB" "$T/before"
    if PAM_AUTHTOK='Short-1' pam ana chauthtok </dev/null; then fail "use_authtok: a 7-character token was accepted"; fi
    same_file "$T/before" "$DB" "a refused use_authtok change"
    PAM_AUTHTOK='Token-From-Above-1' pam ana chauthtok </dev/null || fail "use_authtok: the change failed: $(tail -n 1 "$PAM_OUT")"
    grep -q 'New password' "$PAM_OUT" && fail "use_authtok prompted for the new password"
    SERVICE=pwtest
    login_ok ana 'Token-From-Above-1'
    login_refused ana 'Right-Password-1'
}


# Issue 3: parallel failures are all counted; parallel right logins lock nobody.
test_parallel_failures_counted() {
    printf '%s\n' 'deny = 100' >"$CONF"
    pw init >/dev/null
    user_with_password ana 'Right-Password-1'
    local i
    for i in $(seq 1 30); do
        (printf 'Wrong-%s\n' "$i" | PAM_OUT=$T/par.$i pam ana authenticate >/dev/null 2>&1) &
    done
    wait
    pw user show ana --json >"$T/show.json" || fail "user show failed"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["failures"] == 30 else "failures = %s, not 30" % d["failures"])' "$T/show.json" \
        || fail "30 parallel failures were not all counted: $(grep failures "$T/show.json")"
    pw unlock ana >/dev/null || fail "unlock failed"
    printf '%s\n' 'deny = 3' >"$CONF"
    for i in $(seq 1 30); do
        (printf 'Right-Password-1\n' | PAM_OUT=$T/ok.$i pam ana authenticate >/dev/null 2>&1 || touch "$T/refused.$i") &
    done
    wait
    ! ls "$T"/refused.* >/dev/null 2>&1 || fail "$(ls "$T"/refused.* | wc -l) of 30 parallel right logins were refused"
    login_ok ana 'Right-Password-1' authenticate acct_mgmt
}

# Issue 3: user show says whether the account is usable, and if not why and until when.
test_show_lock_state() {
    printf '%s\n' 'deny = 3' 'unlock_time = 600' >"$CONF"
    pw init >/dev/null
    user_with_password ana 'Right-Password-1'
    user_with_password bo 'Right-Password-2'
    user_with_password cy 'Right-Password-3'
    local i
    for i in 1 2 3; do login_refused ana "Wrong-$i"; done
    pw lock bo >/dev/null || fail "lock failed"
    pw user show ana --json >"$T/ana.json" || fail "show ana failed"
    pw user show bo --json >"$T/bo.json" || fail "show bo failed"
    python3 - "$T/ana.json" "$T/bo.json" <<'PY' || fail "user show --json does not report the locks: $(cat "$T/ana.json" "$T/bo.json" | tr '\n' ' ')"
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert a["locked"] and not a["usable"] and a["lockReason"] == "failures", a
assert a["failures"] == 3 and a["lockedSince"] and a["lockedUntil"] and a["lastFailure"], a
assert b["locked"] and b["lockReason"] == "administrator" and b["lockedBy"] == "root" and b["lockedSince"], b
assert "lockedUntil" not in b or b["lockedUntil"] is None, b
PY
    pw user show ana >"$T/ana.txt"
    grep -q 'usable.*no: locked after 3 failed logins.*until' "$T/ana.txt" || fail "user show text lacks the reason and until when: $(cat "$T/ana.txt")"
    pw user list --locked >"$T/locked.txt" || fail "list --locked failed"
    grep -q '^ana ' "$T/locked.txt" && grep -q '^bo ' "$T/locked.txt" || fail "list --locked misses a locked user: $(cat "$T/locked.txt")"
    ! grep -q '^cy ' "$T/locked.txt" || fail "list --locked lists an unlocked user"
    pw unlock ana >"$T/unlock.out" || fail "unlock failed"
    grep -q 'locked after 3 failed logins' "$T/unlock.out" || fail "unlock does not say what it lifted: $(cat "$T/unlock.out")"
    login_ok ana 'Right-Password-1' authenticate acct_mgmt
}

# Issue 3: --expire forces a change without touching the password; --allow-weak is explicit
# and recorded.
test_expire_and_allow_weak() {
    pw init >/dev/null
    user_with_password ana 'Right-Password-1'
    cp "$DB" "$T/before"
    pw passwd ana --expire >/dev/null || fail "passwd --expire failed"
    login_ok ana 'Right-Password-1'
    login_refused ana 'Right-Password-1' acct_mgmt
    out_has 'change your password'
    grep -F "$(grep -o 'userPassword=[^	]*' "$T/before")" "$DB" >/dev/null || fail "--expire changed the password hash"
    cp "$DB" "$T/before-weak"
    if printf 'aaaaaaaaaaaaaaaa\n' | pw passwd ana --stdin >"$T/cmd.out" 2>"$T/cmd.err"; then fail "a palindrome passed the policy"; fi
    grep -q '^pwdir: password refused: .*palindrome' "$T/cmd.err" || fail "the refusal does not give pwquality's reason: $(cat "$T/cmd.err")"
    same_file "$T/before-weak" "$DB" "a refused weak password"
    printf 'aaaaaaaaaaaaaaaa\n' | pw passwd ana --stdin --allow-weak --no-force-change >"$T/weak.out" || fail "--allow-weak refused"
    grep -q 'allow-weak' "$T/weak.out" || fail "--allow-weak is not said: $(cat "$T/weak.out")"
    pw user show ana --json >"$T/show.json"
    grep -q '"policyOverride"' "$T/show.json" || fail "--allow-weak is not recorded"
    login_ok ana 'aaaaaaaaaaaaaaaa'
}

# Review findings: under sudo a manager may not choose the directory or the settings file
# (an old backup, or a sendmail that runs as root); settings others may write are refused.
test_sudo_paths_and_settings_trust() {
    pw init >/dev/null
    pw user add boss --role manager >/dev/null
    pw user add ana --manager boss >/dev/null
    printf 'sendmail = /bin/true\n' >"$T/evil.conf"
    local how
    for how in "--config $T/evil.conf user list" "user list --config $T/evil.conf" "--db $DB- user list" "user list --db $DB"; do
        # shellcheck disable=SC2086
        SUDO_USER=boss pw $how >"$T/out" 2>"$T/err" && fail "'pwdir $how' through sudo was accepted"
        [ "$(wc -l <"$T/err")" = 1 ] && grep -q '^pwdir: .*may not be given through sudo' "$T/err" \
            || fail "'pwdir $how' through sudo: $(cat "$T/err")"
    done
    SUDO_USER=boss pw user list >"$T/out" 2>"$T/err" || fail "a manager's plain 'user list' failed: $(cat "$T/err")"
    grep -q '^ana ' "$T/out" || fail "the manager does not see their team"
    # settings that group or others may write: the command and the module refuse them
    user_with_password cy 'Right-Password-1'
    printf 'deny = 3\n' >"$CONF"
    chmod 664 "$CONF"
    if pw user list >/dev/null 2>"$T/err"; then fail "a group-writable pwdir.conf was used"; fi
    grep -q 'others may write' "$T/err" || fail "no clear refusal: $(cat "$T/err")"
    login_refused cy 'Right-Password-1'
    chmod 644 "$CONF"
    login_ok cy 'Right-Password-1'
}

# ---------------------------------------------------------------------------------------------
# Harness

ALL_TESTS=(
    story wrong_password unknown_user lock_unlock no_password_cannot_log_in no_force_change
    chauthtok_policy policy_says_why chauthtok_not_root password_history lockout passwd_stdin
    json_output bad_names missing_directory missing_directory_leaves_no_files
    corrupt_directory corrupt_duplicate_login symlinks db_option config_minlen
    concurrent_writers killed_writer big_directory_login
    exports_and_linkage host_state timing unknown_module_argument use_first_pass
    parallel_failures_counted show_lock_state expire_and_allow_weak sudo_paths_and_settings_trust
)

run_tests "$@"
