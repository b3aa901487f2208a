#!/usr/bin/env bash
# End-to-end tests of self-service recovery, manager-scoped administration and the audit trail
# of pwdir: the built `pwdir` and `libpam_pwdir.so` driven from the outside — the module through
# pamtester under pam_wrapper (and, for the zombie check, a small host on the real libpam), mail
# through the real msmtp to a real SMTP server (aiosmtpd) on loopback, one per test. Nothing
# outside a temp dir is touched: no /etc/pam.d, no /etc/shadow, no system account.
#
#   Tests/e2e/recovery.sh [TEST...]        every test, or only those named
#   PWDIR_BIN=DIR Tests/e2e/recovery.sh    pwdir and libpam_pwdir.so from DIR
#                                          (default: .build/release under the repository root)
#   PWDIR_E2E_KEEP=1 Tests/e2e/recovery.sh keep the temp dir (logs, mail, directories)
#
# Prints "ok - NAME" or "not ok - NAME: WHY" per test (a failing test's log follows as "#"
# lines), then exactly one line "N passed, M failed"; exit status 1 if any test failed.
# Needs: pamtester, libpam-wrapper, libpam0g-dev, cc, msmtp, Debian's /usr/bin/python3 with
# aiosmtpd (python3-aiosmtpd), pgrep. Run as root (the module starts `pwdir` helpers, which must
# be root's, and `SUDO_USER=…` stands for sudo).
#
# Helper files: recovery_mail.py (reads the test's maildir), recovery_host.c (a long-lived PAM
# host that checks the module reaps what it starts).

set -u
set -o pipefail
umask 022
export LC_ALL=C

# shellcheck source=harness.bash
source "$(dirname "${BASH_SOURCE[0]}")/harness.bash"
PY=/usr/bin/python3  # Debian's: it has aiosmtpd

[ "$(id -u)" = 0 ] || bail "run as root"
for tool in pamtester cc msmtp pgrep timeout mkfifo cmp; do
    command -v "$tool" >/dev/null || bail "missing tool: $tool"
done
[ -x "$PY" ] && "$PY" -c 'import aiosmtpd' 2>/dev/null || bail "$PY lacks aiosmtpd (apt-get install python3-aiosmtpd)"
[ -e /usr/lib/x86_64-linux-gnu/libpam_wrapper.so ] || ldconfig -p 2>/dev/null | grep -q 'libpam_wrapper\.so' ||
    bail "libpam_wrapper.so not found (apt-get install libpam-wrapper)"
[ -e /usr/include/security/pam_appl.h ] || bail "PAM headers missing (apt-get install libpam0g-dev)"
# the module runs pwdir as root only if it is root's and writable by nobody else
[ "$(stat -c %u "$PWDIR_EXE")" = 0 ] && [ $(( 0$(stat -c %a "$PWDIR_EXE") & 022 )) = 0 ] ||
    bail "$PWDIR_EXE must be owned by root and not group/world-writable (the module refuses to run it)"

TMP=$(mktemp -d /tmp/pwdir-recovery.XXXXXX) || bail "mktemp failed"
cleanup() {
    local pid
    for pid in $(cat "$TMP"/*/smtp.pid 2>/dev/null); do kill "$pid" 2>/dev/null; done
    if [ -n "${PWDIR_E2E_KEEP:-}" ]; then echo "recovery.sh: kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Helpers. Every test runs in its own subshell with a fresh world from `setup`: T (its folder),
# DB, CONF (PWDIR_DB / PWDIR_CONFIG point at them), SVC (pam_wrapper service dir), SERVICE
# ("pwtest": the module alone in every stack, nodelay, pwdir=the binary under test), MAILDIR
# (what its own SMTP server received), SECRETS (every password, code and hash the test saw,
# for the audit test).

secret() {  # secret VALUE...: never to be seen in the audit trail
    local v
    for v in "$@"; do [ -n "$v" ] && printf '%s\n' "$v" >>"$TMP/secrets"; done
    return 0
}

setup() {
    new_world "pwdir=$PWDIR_EXE"
    MAILDIR=$T/maildir
    unset SUDO_USER
    start_smtp
    write_conf
    trap '' PIPE  # a pamtester that died early must not kill the test through a FIFO write
}

start_smtp() {  # a real SMTP server on loopback, storing into $MAILDIR; msmtp pointed at it
    local port i
    port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$PY" -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Mailbox "$MAILDIR" >"$T/smtp.log" 2>&1 &
    echo $! >"$T/smtp.pid"
    for i in $(seq 1 100); do
        "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2).close()' "$port" 2>/dev/null && break
        sleep 0.05
    done
    printf 'account default\nhost 127.0.0.1\nport %s\nfrom pwdir@example.org\nauth off\ntls off\n' "$port" >"$T/msmtprc"
    chmod 600 "$T/msmtprc"
}

stop_smtp() {
    [ -s "$T/smtp.pid" ] && kill "$(cat "$T/smtp.pid")" 2>/dev/null
    return 0
}

write_conf() {  # write_conf [LINE...]: mail and recovery settings, then the lines given
    {
        printf 'sendmail = /usr/bin/msmtp -C %s -t\n' "$T/msmtprc"
        printf '%s\n' 'mail_from = pwdir@example.org'
        printf '%s\n' "$@" | grep -q '^recovery *=' || echo 'recovery = yes'
        [ $# -gt 0 ] && printf '%s\n' "$@"
    } >"$CONF"
}

pam_env() {  # pam_env CMD...: CMD under pam_wrapper with the test's services
    timeout 60 env LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$SVC" "$@"
}

pam() {  # pam USER OP...: pamtester; stdin answers the prompts; output in $PAM_OUT
    local user=$1 rc
    shift
    pam_env pamtester "$SERVICE" "$user" "$@" >"$PAM_OUT" 2>&1
    rc=$?
    echo "pamtester $SERVICE $user $* -> $rc"
    sed 's/^/    | /' "$PAM_OUT"
    return $rc
}

out_has() {
    grep -qF -- "$1" "$PAM_OUT" || fail "${2:-pamtester output} lacks '$1': $(tr '\n' ' ' <"$PAM_OUT" | cut -c1-300)"
}

try_code() {  # try_code USER CODE [NEWPASS]: empty password, CODE, NEWPASS twice, one pamtester
    local new=${3:-Never-Used-Pass-77}
    printf '\n%s\n%s\n%s\n' "$2" "$new" "$new" | pam "$1" authenticate
}

user_with_password() {  # user_with_password NAME PASSWORD [user add options...]
    local name=$1 pass=$2
    shift 2
    pw user add "$name" "$@" >/dev/null || fail "user add $name $* failed"
    printf '%s\n' "$pass" | pw passwd "$name" --stdin --no-force-change >/dev/null || fail "passwd $name --stdin failed"
    secret "$pass"
}

run_cmd() {  # run_cmd ARG...: pwdir (SUDO_USER as exported), stdin from $CMD_IN or /dev/null
    pw "$@" >"$T/cmd.out" 2>"$T/cmd.err" <"${CMD_IN:-/dev/null}"
    local rc=$?
    echo "${SUDO_USER:+SUDO_USER=$SUDO_USER }pwdir $* -> $rc"
    sed 's/^/    out| /' "$T/cmd.out" | head -n 20
    sed 's/^/    err| /' "$T/cmd.err"
    return $rc
}

one_error_line() {  # one_error_line WHAT: cmd.err is exactly one line starting "pwdir: "
    local lines
    lines=$(wc -l <"$T/cmd.err")
    [ "$lines" -eq 1 ] || fail "$1: wrote $lines lines on stderr, not one: $(tr '\n' '|' <"$T/cmd.err" | cut -c1-300)"
    grep -q '^pwdir: ' "$T/cmd.err" || fail "$1: the error does not start with 'pwdir: ': $(cat "$T/cmd.err")"
}

# --- mail ---

mail_list() {  # FILE TO KIND VALUE SUBJECT, one line per message, oldest first
    "$PY" "$HERE/recovery_mail.py" "$MAILDIR"
}

mail_count() {  # mail_count [TO [KIND]]
    mail_list | awk -F'\t' -v to="${1:-}" -v kind="${2:-}" '(to == "" || $2 == to) && (kind == "" || $3 == kind)' | wc -l
}

wait_mail() {  # wait_mail TO KIND N [SECONDS]: until N such mails arrived; 1 on timeout
    local i
    for i in $(seq 1 $((${4:-10} * 10))); do
        [ "$(mail_count "$1" "$2")" -ge "$3" ] && return 0
        sleep 0.1
    done
    return 1
}

last_value() {  # last_value TO KIND: VALUE of the newest such mail
    mail_list | awk -F'\t' -v to="$1" -v kind="$2" '$2 == to && $3 == kind { v = $4 } END { print v }'
}

next_code() {  # next_code TO N: waits for the Nth code mail to TO, prints its code
    wait_mail "$1" code "$2" 10 || fail "no recovery code mail #$2 reached $1 (mails: $(mail_list | cut -f2,3 | tr '\n\t' '; '))"
    local code
    code=$(last_value "$1" code)
    secret "$code" "${code//-/}"
    echo "$code"
}

# --- the interactive recovery: pamtester reading a FIFO, so the code can be read from the mail
#     between the prompts ---

rec_start() {  # rec_start USER: pamtester started, "Password: " answered with an empty line
    REC_FIFO=$T/fifo.$RANDOM$RANDOM
    mkfifo "$REC_FIFO"
    (pam_env pamtester "$SERVICE" "$1" authenticate <"$REC_FIFO" >"$PAM_OUT" 2>&1; echo $? >"$REC_FIFO.rc") &
    REC_PID=$!
    REC_USER=$1
    exec 3>"$REC_FIFO"
    printf '\n' >&3
}

rec_send() {  # rec_send LINE...: more answers
    printf '%s\n' "$@" >&3
}

rec_end() {  # rec_end: no more answers; pamtester's status
    exec 3>&-
    wait "$REC_PID"
    local rc
    rc=$(cat "$REC_FIFO.rc" 2>/dev/null || echo 99)
    echo "pamtester $SERVICE $REC_USER authenticate (recovery through a FIFO) -> $rc"
    sed 's/^/    | /' "$PAM_OUT"
    rm -f "$REC_FIFO" "$REC_FIFO.rc"
    return "$rc"
}

recover_at_prompt() {  # recover_at_prompt USER ADDRESS NEWPASS: the whole flow must succeed
    local n code
    n=$(( $(mail_count "$2" code) + 1 ))
    rec_start "$1"
    code=$(next_code "$2" "$n") || { rec_end; fail "no code for $1"; }
    rec_send "$code" "$3" "$3"
    secret "$3"
    rec_end || fail "recovery of $1 with the mailed code $code failed: $(tail -n 1 "$PAM_OUT")"
    grep -q 'successfully authenticated' "$PAM_OUT" || fail "recovery of $1: pamtester did not report success"
    LAST_CODE=$code
}

show_json() {  # show_json NAME FIELD: one field of `user show NAME --json`
    pw user show "$1" --json | "$PY" -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("null" if v is None else v)' "$2"
}

tally_of() {  # the tally file of a login
    echo "$DB.tally/$1"
}

set_tally_line() {  # set_tally_line LOGIN KEY VALUE: rewrites KEY=… (atomically, mode 0600)
    local f
    f=$(tally_of "$1")
    [ -f "$f" ] || fail "no tally file $f"
    grep -q "^$2=" "$f" || fail "tally $f has no $2= line: $(tr '\n' ' ' <"$f")"
    sed "s/^$2=.*/$2=$3/" "$f" >"$f.new" && chmod 600 "$f.new" && mv "$f.new" "$f" || fail "cannot rewrite $f"
}

code_alive() {  # code_alive LOGIN: the tally holds a code with tries left (fewer than 3)
    local f tries
    f=$(tally_of "$1")
    grep -q '^code=' "$f" 2>/dev/null || return 1
    tries=$(sed -n 's/^codeTries=//p' "$f")
    [ "${tries:-0}" -lt 3 ]
}

median() {
    sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# ---------------------------------------------------------------------------------------------
# 1. A user with a recovery address recovers through pamtester alone; the code is single use,
#    expires, and dies after 3 wrong tries.

test_recovery_flow() {
    write_conf 'recovery_ttl = 60' 'recovery_interval = 0' 'deny = 50'
    pw init >/dev/null || fail "init failed"
    user_with_password ana 'Old-Secret-Pass-41' --email ana@corp.example --recovery-email ana@home.example --full-name 'Ana Lima'

    local new='Brand-New-Pass-88'
    recover_at_prompt ana ana@home.example "$new"
    local c1=$LAST_CODE
    [[ "$c1" =~ ^[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}$ ]] || fail "the mailed code '$c1' is not 3 groups of 4"
    out_has "If this account has a recovery address, a code has been sent to it."
    out_has "Recovery code: "
    out_has "New password: "
    out_has "Retype new password: "
    [ "$(mail_count '' code)" = 1 ] || fail "$(mail_count '' code) code mails for one request"
    mail_list | awk -F'\t' '$3 == "code" && $2 != "ana@home.example"' | grep -q . && fail "a code went elsewhere than the recovery address"

    login_ok ana "$new"
    login_refused ana 'Old-Secret-Pass-41'

    # the password-changed notice
    wait_mail ana@home.example changed 1 10 || fail "no 'password was changed' notice reached ana@home.example: $(mail_list | cut -f2,3,5 | tr '\n\t' '; ')"

    # single use: the same code again (this request mails a fresh code; the old one must not work)
    if try_code ana "$c1" 'Second-Use-Pass-51'; then fail "the code $c1 worked a second time"; fi
    out_has "The recovery code is wrong, used up or expired"
    login_refused ana 'Second-Use-Pass-51'
    login_ok ana "$new"
    wait_mail ana@home.example code 2 10  # that request's code: let it land before the next count

    # expired: a fresh code, then its expiry moved into the past (recovery_ttl = 60; the tally is
    # the store the module reads after the prompt: the injected clock of this test)
    local n c2 now
    n=$(( $(mail_count ana@home.example code) + 1 ))
    rec_start ana
    c2=$(next_code ana@home.example "$n") || { rec_end; fail "no code for the expiry check"; }
    grep -q '^codeExpires=' "$(tally_of ana)" || { rec_end; fail "the tally holds no codeExpires= line: $(cat "$(tally_of ana)")"; }
    local sent expires
    sent=$(sed -n 's/^codeSent=//p' "$(tally_of ana)")
    expires=$(sed -n 's/^codeExpires=//p' "$(tally_of ana)")
    [ $((expires - sent)) = 60 ] || { rec_end; fail "with recovery_ttl = 60 the code is valid $((expires - sent)) s"; }
    now=$(date +%s)
    set_tally_line ana codeSent $((now - 70))
    set_tally_line ana codeExpires $((now - 10))
    rec_send "$c2" 'Expired-Code-Pass-61' 'Expired-Code-Pass-61'
    if rec_end; then fail "an expired code ($c2, expired 10 s ago) was accepted"; fi
    out_has "The recovery code is wrong, used up or expired"
    login_refused ana 'Expired-Code-Pass-61'
    login_ok ana "$new"

    # three wrong codes: the code is gone (recovery_interval = 300 now, so the requests made by
    # tries 2 to 4 do not replace it with a new one)
    write_conf 'recovery_ttl = 60' 'recovery_interval = 300' 'deny = 50'
    n=$(( $(mail_count ana@home.example code) + 1 ))
    rec_start ana
    local c3
    c3=$(next_code ana@home.example "$n") || { rec_end; fail "no code for the 3-tries check"; }
    rec_send 'ZZZZ-ZZZZ-ZZZ2'
    if rec_end; then fail "a wrong code was accepted"; fi
    grep -q '^codeTries=1$' "$(tally_of ana)" || fail "after one wrong code the tally does not say codeTries=1: $(tr '\n' ' ' <"$(tally_of ana)")"
    [ "$(show_json ana failures)" = 1 ] || fail "a wrong code was not counted as a failed login (failures = $(show_json ana failures))"
    if try_code ana 'ZZZZ-ZZZZ-ZZZ3'; then fail "a wrong code was accepted"; fi
    if try_code ana 'ZZZZ-ZZZZ-ZZZ4'; then fail "a wrong code was accepted"; fi
    code_alive ana && fail "after 3 wrong codes the code is still usable in the tally: $(tr '\n' ' ' <"$(tally_of ana)")"
    if try_code ana "$c3" 'Fourth-Try-Pass-71'; then fail "the right code worked after 3 wrong tries"; fi
    login_refused ana 'Fourth-Try-Pass-71'
    login_ok ana "$new"
}

# 1b. recovery = no: an empty password is a wrong password, nothing more.

test_recovery_off() {
    write_conf 'recovery = no'
    pw init >/dev/null || fail "init failed"
    user_with_password ana 'Ana-Secret-Pass-11' --email ana@corp.example --recovery-email ana@home.example
    printf '\n2222-3333-4444\nNever-Set-Pass-11\nNever-Set-Pass-11\n' | pam ana authenticate && fail "an empty password logged in"
    grep -q 'Recovery code' "$PAM_OUT" && fail "recovery = no, yet the module asked for a recovery code"
    grep -q 'recovery address' "$PAM_OUT" && fail "recovery = no, yet the module spoke of a code"
    [ "$(show_json ana failures)" = 1 ] || fail "the empty password was not counted as a failure"
    sleep 1.5
    [ "$(mail_count)" = 0 ] || fail "recovery = no, yet mail was sent"
    login_ok ana 'Ana-Secret-Pass-11'
}

# 2. No-mailbox user, unknown login and a user with an address: same words, same time, mail
#    only for the one with an address.

test_same_answer_for_everyone() {
    write_conf 'deny = 0'
    pw init >/dev/null || fail "init failed"
    user_with_password ana 'Ana-Secret-Pass-12' --email ana@corp.example --recovery-email ana@home.example
    user_with_password nm 'Nm-Secret-Pass-12' --email nm@corp.example --no-mailbox
    [ "$(show_json nm mailRecipient)" = null ] || fail "nm has a mail recipient: $(show_json nm mailRecipient)"

    local who
    for who in nm ghost; do
        printf '\n2222-3333-4444\n' | pam_env pamtester "$SERVICE" "$who" authenticate >"$T/out.$who" 2>"$T/err.$who"
        echo "$?" >"$T/rc.$who"
    done
    sleep 2
    [ "$(mail_count)" = 0 ] || fail "mail was sent for a no-mailbox user or an unknown login: $(mail_list | cut -f2,3 | tr '\n\t' '; ')"
    printf '\n2222-3333-4444\n' | pam_env pamtester "$SERVICE" ana authenticate >"$T/out.ana" 2>"$T/err.ana"
    echo "$?" >"$T/rc.ana"
    wait_mail ana@home.example code 1 10 || fail "no code reached ana@home.example (so the silence above proves nothing)"
    for who in ana nm ghost; do
        echo "--- $who: status $(cat "$T/rc.$who")"
        sed 's/^/    out| /' "$T/out.$who"
        sed 's/^/    err| /' "$T/err.$who"
        # PAM_TEXT_INFO (pamtester prints it on stdout; PAM_ERROR_MSG goes to stderr)
        grep -q "If this account has a recovery address, a code has been sent to it" "$T/out.$who" ||
            fail "$who was not told about the code as information (PAM_TEXT_INFO): $(cat "$T/out.$who" "$T/err.$who" | tr '\n' ' ')"
        # the same words: pids and the login itself aside
        for s in out err; do
            sed -E "s/\b$who\b/LOGIN/g; s/\[[0-9]+\]/[PID]/g; s/pid[ =:]*[0-9]+/pid PID/g" "$T/$s.$who" >"$T/$s.$who.norm"
        done
    done
    for who in nm ghost; do
        cmp -s "$T/out.ana.norm" "$T/out.$who.norm" && cmp -s "$T/err.ana.norm" "$T/err.$who.norm" ||
            fail "$who does not see what ana sees: $(cat "$T/out.$who" "$T/err.$who" | tr '\n' ' ') / $(cat "$T/out.ana" "$T/err.ana" | tr '\n' ' ')"
        cmp -s "$T/rc.ana" "$T/rc.$who" || fail "pamtester's status differs: ana $(cat "$T/rc.ana"), $who $(cat "$T/rc.$who")"
    done

    # the same time: alternating runs, the medians within 25% of each other (more rounds if one
    # is out: a burst of load on a shared machine is not an oracle; a real one is out every time)
    # The detached helper a run starts goes on working (directory, tally, mail) after the host
    # has returned; on two shared cores it would slow whichever run comes next, so each run
    # starts once the previous one's helper is done (the host never waits for it).
    local round i t0 t1 verdict w
    for round in 1 2 3; do
        : >"$T/t.ana"; : >"$T/t.nm"; : >"$T/t.ghost"
        for i in $(seq 1 7); do
            for who in ana nm ghost; do
                for w in $(seq 1 100); do pgrep -f "pwdir recovery-.*$DB" >/dev/null || break; sleep 0.02; done
                t0=$(date +%s%N)
                printf '\n2222-3333-4444\n' | pam_env pamtester "$SERVICE" "$who" authenticate >/dev/null 2>&1 &&
                    fail "a wrong code logged $who in"
                t1=$(date +%s%N)
                echo $((t1 - t0)) >>"$T/t.$who"
            done
        done
        verdict=$(awk -v a="$(median "$T/t.ana")" -v n="$(median "$T/t.nm")" -v g="$(median "$T/t.ghost")" 'BEGIN {
            lo = a; hi = a; if (n < lo) lo = n; if (g < lo) lo = g; if (n > hi) hi = n; if (g > hi) hi = g
            printf "%s ana %d ms, no-mailbox %d ms, unknown %d ms, max/min %.2f", (hi / lo <= 1.25) ? "ok" : "bad", a / 1e6, n / 1e6, g / 1e6, hi / lo }')
        note "round $round: ${verdict#* }"
        [ "${verdict%% *}" = ok ] && break
    done
    [ "${verdict%% *}" = ok ] || fail "recovery requests do not take the same time (three rounds): ${verdict#* }"

    sleep 1
    mail_list | awk -F'\t' '$2 != "ana@home.example"' | grep -q . &&
        fail "mail went to someone other than ana's recovery address: $(mail_list | cut -f2 | sort | uniq -c | tr '\n' ' ')"
    return 0
}

# 3. Rate limit: a second request within recovery_interval sends nothing; the first code works.

test_rate_limit() {
    write_conf 'deny = 50'  # recovery_interval: the default (300 s)
    pw init >/dev/null || fail "init failed"
    user_with_password ana 'Ana-Secret-Pass-13' --email ana@corp.example --recovery-email ana@home.example
    rec_start ana
    local c1
    c1=$(next_code ana@home.example 1) || { rec_end; fail "no first code"; }
    rec_end  # no code typed: that attempt is given up
    printf '\n\n' | pam ana authenticate && fail "an empty code logged in"
    out_has "If this account has a recovery address, a code has been sent to it."
    sleep 2
    [ "$(mail_count ana@home.example code)" = 1 ] || fail "a second request within recovery_interval sent another code ($(mail_count ana@home.example code) code mails)"
    try_code ana "$c1" 'Rate-Limit-Pass-23' || fail "the first code no longer works after a rate-limited request: $(tail -n 1 "$PAM_OUT")"
    secret 'Rate-Limit-Pass-23'
    login_ok ana 'Rate-Limit-Pass-23'
    pw log --user ana | grep -q 'recovery code.*refused.*less than' || fail "the refused request is not in the audit trail"
}

# 3b. A code used up by wrong tries does not lift the rate limit: "at most one new code per
#     user per recovery_interval" (else 3 wrong tries buy a new mail each time: a mail bomb,
#     and with deny = 0 endless fresh codes to guess at).

test_rate_limit_survives_used_up_code() {
    write_conf 'deny = 0'
    pw init >/dev/null || fail "init failed"
    user_with_password bo 'Bo-Secret-Pass-13' --email bo@corp.example --recovery-email bo@home.example
    rec_start bo
    local c1
    c1=$(next_code bo@home.example 1) || { rec_end; fail "no first code"; }
    rec_send 'ZZZZ-ZZZZ-ZZZ2'
    rec_end && fail "a wrong code logged in"
    try_code bo 'ZZZZ-ZZZZ-ZZZ3' && fail "a wrong code logged in"
    try_code bo 'ZZZZ-ZZZZ-ZZZ4' && fail "a wrong code logged in"
    code_alive bo && fail "3 wrong tries did not use the code up: $(tr '\n' ' ' <"$(tally_of bo)")"
    printf '\n\n' | pam bo authenticate
    sleep 2
    [ "$(mail_count bo@home.example code)" = 1 ] ||
        fail "a code used up by 3 wrong tries lifted the rate limit: a new code was mailed within recovery_interval ($(mail_count bo@home.example code) code mails)"
}

# 3c. The rate limit holds against parallel requests (several login prompts at once): one code
#     mail, and that code works.

test_rate_limit_parallel() {
    write_conf 'deny = 50'
    pw init >/dev/null || fail "init failed"
    user_with_password ana 'Ana-Secret-Pass-23' --email ana@corp.example --recovery-email ana@home.example
    local i pids=()
    for i in $(seq 1 12); do
        # no answer at "Recovery code: " (end of input): the attempt spends none of the code's tries
        (printf '\n' | pam_env pamtester "$SERVICE" ana authenticate >"$T/par.$i" 2>&1) &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    wait_mail ana@home.example code 1 10 || fail "12 parallel requests mailed no code"
    sleep 2
    local n
    n=$(mail_count ana@home.example code)
    note "12 parallel requests: $n code mails"
    [ "$n" = 1 ] || fail "12 parallel requests within recovery_interval mailed $n codes (the rate limit is checked outside the tally lock)"
    local c
    c=$(last_value ana@home.example code)
    secret "$c"
    try_code ana "$c" 'Parallel-Code-Pass-33' || fail "the one code mailed does not work: $(tail -n 1 "$PAM_OUT")"
    secret 'Parallel-Code-Pass-33'
}

# 4. Guessing codes locks the account like guessing passwords.

test_codes_lock_account() {
    write_conf 'deny = 3'
    pw init >/dev/null || fail "init failed"
    user_with_password ana 'Ana-Secret-Pass-14' --email ana@corp.example --recovery-email ana@home.example
    rec_start ana
    local c1
    c1=$(next_code ana@home.example 1) || { rec_end; fail "no code"; }
    rec_send 'ZZZZ-ZZZZ-ZZZ2'
    rec_end && fail "a wrong code logged in"
    try_code ana 'ZZZZ-ZZZZ-ZZZ3' && fail "a wrong code logged in"
    try_code ana 'ZZZZ-ZZZZ-ZZZ4' && fail "a wrong code logged in"
    login_refused ana 'Ana-Secret-Pass-14'
    grep -qi 'locked' "$PAM_OUT" || fail "the right password after 3 wrong codes is refused, but not as a lock: $(tr '\n' ' ' <"$PAM_OUT")"
    [ "$(show_json ana lockReason)" = failures ] || fail "user show says lockReason $(show_json ana lockReason), not failures"
    [ "$(show_json ana locked)" = True ] || fail "user show does not say locked"

    # locked: the right code is refused too, and no new code is mailed
    pw unlock ana >/dev/null || fail "unlock failed"
    login_ok ana 'Ana-Secret-Pass-14'
    write_conf 'deny = 2'
    rec_start ana
    local c2
    c2=$(next_code ana@home.example 2) || { rec_end; fail "no second code"; }
    rec_send 'ZZZZ-ZZZZ-ZZZ5'
    rec_end && fail "a wrong code logged in"
    try_code ana 'ZZZZ-ZZZZ-ZZZ6' && fail "a wrong code logged in"
    [ "$(show_json ana lockReason)" = failures ] || fail "2 wrong codes with deny = 2 did not lock"
    cp "$DB" "$T/before"
    try_code ana "$c2" 'Locked-Right-Code-9' && fail "a locked account accepted the right code"
    cmp -s "$T/before" "$DB" || fail "the right code changed a locked account's password"
    sleep 2
    [ "$(mail_count ana@home.example code)" = 2 ] || fail "a code was mailed for a locked account"
}

# 5. The help desk: pwdir recover NAME / ADDRESS mails a code that works at the prompt.

test_help_desk_recover() {
    write_conf 'deny = 50'
    pw init >/dev/null || fail "init failed"
    user_with_password ana 'Ana-Secret-Pass-15' --email ana@corp.example --recovery-email ana@home.example
    user_with_password bob 'Bob-Secret-Pass-15' --email bob@corp.example
    user_with_password nm 'Nm-Secret-Pass-15' --email nm@corp.example --no-mailbox

    run_cmd recover ana || fail "pwdir recover ana failed: $(cat "$T/cmd.err")"
    grep -q 'sent' "$T/cmd.out" || fail "pwdir recover ana does not say it sent a code: $(cat "$T/cmd.out")"
    local c
    c=$(next_code ana@home.example 1)
    # the new password follows the policy, and a refusal (or a typo) does not spend the code
    cp "$DB" "$T/before"
    try_code ana "$c" 'Short-1' && fail "recovery accepted a 7-character password (minlen 12)"
    out_has "Password refused"
    printf '\n%s\n%s\n%s\n' "$c" 'Desk-Typo-Pass-25' 'Desk-Typo-Pass-52' | pam ana authenticate && fail "recovery accepted two different new passwords"
    out_has "do not match"
    cmp -s "$T/before" "$DB" || fail "a refused recovery changed the directory"
    try_code ana "$c" 'Desk-Code-Pass-25' || fail "the code from 'pwdir recover ana' did not work at the prompt: $(tail -n 1 "$PAM_OUT")"
    secret 'Desk-Code-Pass-25'
    login_ok ana 'Desk-Code-Pass-25'
    login_refused ana 'Ana-Secret-Pass-15'

    run_cmd recover ana@home.example || fail "pwdir recover ana@home.example failed: $(cat "$T/cmd.err")"
    c=$(next_code ana@home.example 2)
    try_code ana "$c" 'Desk-Addr-Pass-35' || fail "the code from 'pwdir recover ana@home.example' did not work: $(tail -n 1 "$PAM_OUT")"
    secret 'Desk-Addr-Pass-35'
    login_ok ana 'Desk-Addr-Pass-35'

    # by the login email, when it is a real mailbox
    run_cmd recover bob@corp.example || fail "pwdir recover bob@corp.example failed: $(cat "$T/cmd.err")"
    c=$(next_code bob@corp.example 1)
    # typed as people type it: lower case, spaces for dashes
    local typed=${c,,}
    typed=${typed//-/ }
    secret "$typed"
    try_code bob "$typed" 'Desk-Bob-Pass-45' || fail "the code mailed to bob's email, typed as '$typed', did not work: $(tail -n 1 "$PAM_OUT")"
    secret 'Desk-Bob-Pass-45'
    login_ok bob 'Desk-Bob-Pass-45'

    # the help desk is rate-limited too
    run_cmd recover bob || fail "pwdir recover bob failed"
    next_code bob@corp.example 2 >/dev/null
    if run_cmd recover bob; then fail "a second 'pwdir recover bob' within recovery_interval succeeded"; fi
    one_error_line "a rate-limited pwdir recover"

    # no mailbox: one line that says what to do, and no mail
    if run_cmd recover nm; then fail "pwdir recover nm (no mailbox) succeeded"; fi
    one_error_line "pwdir recover for a no-mailbox user"
    grep -Eq 'recovery-email|manager|passwd' "$T/cmd.err" || fail "the refusal does not say what to do: $(cat "$T/cmd.err")"
    if run_cmd recover nm@corp.example; then fail "pwdir recover by a fictitious address succeeded"; fi
    one_error_line "pwdir recover by a fictitious address"
    if run_cmd recover ghost; then fail "pwdir recover of an unknown login succeeded"; fi
    one_error_line "pwdir recover of an unknown login"
    sleep 1
    mail_list | awk -F'\t' '$2 ~ /^nm@/' | grep -q . && fail "mail went to the fictitious address of nm"
    return 0
}

# 6. Roles under sudo (SUDO_USER): a manager acts on their team only; a user on nothing; an
#    admin on everything. Then `pwdir log` reads it all back.

actor_ok() {  # actor_ok WHO ARG...: the command succeeds with SUDO_USER=WHO
    local who=$1
    shift
    SUDO_USER=$who run_cmd "$@" || fail "SUDO_USER=$who pwdir $* failed: $(head -c 300 "$T/cmd.err")"
}

actor_refused() {  # actor_refused WHO PATTERN ARG...: refused, one "pwdir: " line matching PATTERN, nothing changed
    local who=$1 pattern=$2
    shift 2
    cp "$DB" "$T/db.before"
    if SUDO_USER=$who run_cmd "$@"; then fail "SUDO_USER=$who pwdir $* was allowed"; fi
    one_error_line "SUDO_USER=$who pwdir $*"
    grep -Eq -- "$pattern" "$T/cmd.err" || fail "SUDO_USER=$who pwdir $*: the refusal does not say /$pattern/: $(cat "$T/cmd.err")"
    cmp -s "$T/db.before" "$DB" || fail "the refused SUDO_USER=$who pwdir $* changed the directory"
    grep -q 'password of .* set\|shown once' "$T/cmd.out" && fail "the refused SUDO_USER=$who pwdir $* printed a password"
    return 0
}

json_logins() {  # the logins in a { "users": [...] } document on stdin, space-separated, sorted
    "$PY" -c 'import json,sys; print(" ".join(sorted(u["login"] for u in json.load(sys.stdin)["users"])))'
}

test_roles() {
    write_conf 'deny = 50' 'recovery_interval = 0'
    pw init >/dev/null || fail "init failed"
    user_with_password boss 'Qv8-Lantern-Orbit-61' --role manager --email boss@corp.example
    user_with_password ana 'Kp3-Meadow-Falcon-62' --manager boss --email ana@corp.example
    user_with_password zed 'Wt5-Copper-Violet-63' --email zed@corp.example
    user_with_password adm 'Hj2-Silent-Harbor-64' --role admin --manager boss --email adm@corp.example
    user_with_password usr 'Rm9-Pebble-Tundra-65' --role user --email usr@corp.example
    user_with_password root2 'Xc4-Marble-Willow-66' --role admin --email root2@corp.example
    printf 'login,email,manager\nimp1,imp1@corp.example,boss\n' >"$T/new.csv"
    printf 'Typed-Cobalt-River-71\n' >"$T/typed1"
    printf 'Typed-Amber-Canyon-72\n' >"$T/typed2"
    secret 'Typed-Cobalt-River-71' 'Typed-Amber-Canyon-72'
    local M='a manager may only'
    local target gen mails

    # --- the manager on his team (ana): every manager action works
    actor_ok boss user show ana
    grep -q 'ana' "$T/cmd.out" || fail "boss's user show ana shows nothing"
    actor_ok boss user show ana --json
    actor_ok boss user list --json
    [ "$(json_logins <"$T/cmd.out")" = ana ] || fail "boss's user list shows [$(json_logins <"$T/cmd.out")], not only his team [ana]"
    actor_ok boss user list
    grep -Eq '^(zed|adm|root2|boss|usr) ' "$T/cmd.out" && fail "boss's user list (text) shows users outside his team: $(cat "$T/cmd.out")"
    actor_ok boss user find corp.example --json
    [ "$(json_logins <"$T/cmd.out")" = ana ] || fail "boss's user find corp.example finds [$(json_logins <"$T/cmd.out")], not only [ana]"
    actor_ok boss user find ana --json
    [ "$(json_logins <"$T/cmd.out")" = ana ] || fail "boss's user find ana does not find ana"
    actor_ok boss passwd ana --generate
    gen=$(tail -n 1 "$T/cmd.out"); secret "$gen"
    [ ${#gen} -ge 12 ] || fail "boss's passwd ana --generate printed no password"
    login_ok ana "$gen"
    CMD_IN=$T/typed1 actor_ok boss passwd ana --stdin --no-force-change
    login_ok ana 'Typed-Cobalt-River-71'
    mails=$(mail_count ana@corp.example password)
    actor_ok boss send-credentials ana
    wait_mail ana@corp.example password $((mails + 1)) 10 || fail "boss's send-credentials ana mailed nothing"
    secret "$(last_value ana@corp.example password)"
    actor_ok boss lock ana
    [ "$(show_json ana lockReason)" = administrator ] || fail "boss's lock ana did not lock"
    actor_ok boss unlock ana
    [ "$(show_json ana locked)" = False ] || fail "boss's unlock ana did not unlock"
    mails=$(mail_count ana@corp.example code)
    actor_ok boss recover ana
    next_code ana@corp.example $((mails + 1)) >/dev/null
    # a manager's --all is his team
    mails=$(mail_count '' password)
    actor_ok boss send-credentials --all
    sleep 1
    [ "$(mail_count '' password)" = $((mails + 1)) ] && [ "$(last_value ana@corp.example password)" != "" ] ||
        fail "boss's send-credentials --all did not mail exactly his team (ana): $(mail_list | cut -f2,3 | tr '\n\t' '; ')"
    mail_list | awk -F'\t' '$3 == "password" { print $4 }' | while read -r p; do secret "$p"; done

    # --- outside his team: zed (no manager), adm (an admin he manages), himself
    for target in zed adm boss; do
        actor_refused boss "$M" user show "$target"
        actor_refused boss "$M" passwd "$target" --generate
        CMD_IN=$T/typed1 actor_refused boss "$M" passwd "$target" --stdin
        actor_refused boss "$M" send-credentials "$target"
        actor_refused boss "$M" lock "$target"
        actor_refused boss "$M" unlock "$target"
        actor_refused boss "$M" recover "$target"
        # find: out-of-team users are not found (listed or refused, never shown)
        if SUDO_USER=boss run_cmd user find "$target" --json; then
            [ -z "$(json_logins <"$T/cmd.out" | tr ' ' '\n' | grep -x "$target")" ] || fail "boss's user find $target shows $target"
        else
            one_error_line "SUDO_USER=boss pwdir user find $target"
        fi
    done
    actor_refused boss "$M" recover zed@corp.example
    actor_refused boss "$M" recover adm@corp.example
    sleep 1
    mail_list | awk -F'\t' '$2 ~ /^(zed|adm|boss)@/' | grep -q . && fail "a refused command mailed zed, adm or boss: $(mail_list | cut -f2,3 | tr '\n\t' '; ')"
    # --- what a manager may not do at all
    actor_refused boss "$M" user add newguy
    actor_refused boss "$M" user modify ana --full-name 'Ana Renamed'
    actor_refused boss "$M" user modify ana --role admin
    actor_refused boss "$M" user modify ana --manager ''
    actor_refused boss "$M" user modify zed --manager boss
    actor_refused boss "$M" user modify boss --role admin
    actor_refused boss "$M" user remove ana
    actor_refused boss "$M" import "$T/new.csv"
    actor_refused boss "$M" log
    mkdir -p "$T/fresh"
    actor_refused boss '.' init --db "$T/fresh/users"
    [ ! -e "$T/fresh/users" ] || fail "boss's refused init created a directory"

    # --- a role user may change nothing (and see nothing)
    local U='may change nothing'
    actor_refused usr "$U" user show ana
    actor_refused usr "$U" user show usr
    actor_refused usr "$U" user list
    actor_refused usr "$U" user find ana
    actor_refused usr "$U" passwd ana --generate
    CMD_IN=$T/typed1 actor_refused usr "$U" passwd usr --stdin
    actor_refused usr "$U" send-credentials ana
    actor_refused usr "$U" lock ana
    actor_refused usr "$U" unlock ana
    actor_refused usr "$U" recover ana
    actor_refused usr "$U" user add newguy
    actor_refused usr "$U" user modify usr --role admin
    actor_refused usr "$U" user remove ana
    actor_refused usr "$U" import "$T/new.csv"
    actor_refused usr "$U" log
    # --- someone sudo lets in who is not in the directory
    local S='not in the directory'
    actor_refused stranger "$S" user show ana
    actor_refused stranger "$S" user list
    actor_refused stranger "$S" passwd ana --generate
    actor_refused stranger "$S" lock ana
    actor_refused stranger "$S" user add newguy
    actor_refused stranger "$S" log

    # --- an admin may do everything, to anyone
    actor_ok root2 user show zed
    actor_ok root2 user show boss
    actor_ok root2 user list --json
    [ "$(json_logins <"$T/cmd.out")" = "adm ana boss root2 usr zed" ] || fail "an admin's user list is [$(json_logins <"$T/cmd.out")]"
    actor_ok root2 user find zed --json
    [ "$(json_logins <"$T/cmd.out")" = zed ] || fail "an admin's user find zed finds [$(json_logins <"$T/cmd.out")]"
    actor_ok root2 passwd zed --generate
    gen=$(tail -n 1 "$T/cmd.out"); secret "$gen"
    login_ok zed "$gen"
    CMD_IN=$T/typed2 actor_ok root2 passwd adm --stdin --no-force-change
    login_ok adm 'Typed-Amber-Canyon-72'
    actor_ok root2 send-credentials zed
    wait_mail zed@corp.example password 1 10 || fail "the admin's send-credentials zed mailed nothing"
    secret "$(last_value zed@corp.example password)"
    actor_ok root2 lock boss
    actor_ok root2 unlock boss
    actor_ok root2 recover zed
    next_code zed@corp.example 1 >/dev/null
    actor_ok root2 user add newguy --email newguy@corp.example
    actor_ok root2 user modify newguy --role manager --manager root2
    actor_ok root2 user modify ana --full-name 'Ana Lima'
    actor_ok root2 user remove newguy
    actor_ok root2 import "$T/new.csv"
    mail_list | awk -F'\t' '$3 == "password" { print $4 }' | while read -r p; do secret "$p"; done
    actor_ok root2 user show imp1
    actor_ok root2 log

    # --- pwdir log (as root)
    unset SUDO_USER
    run_cmd log || fail "pwdir log failed"
    awk -F'  ' '$2 == "boss" && $5 == "refused"' "$T/cmd.out" | grep -q . || fail "pwdir log shows no refusal by boss"
    awk -F'  ' '$2 == "boss" && $5 == "ok"' "$T/cmd.out" | grep -q . || fail "pwdir log shows no success by boss"
    awk -F'  ' '$2 == "boss" && $3 == "passwd" && $4 == "ana" && $5 == "ok"' "$T/cmd.out" | grep -q . || fail "pwdir log does not show boss setting ana's password"
    awk -F'  ' '$2 == "boss" && $3 == "passwd" && $4 == "zed" && $5 == "refused"' "$T/cmd.out" | grep -q . || fail "pwdir log does not show boss refused zed's password"
    awk -F'  ' '$2 == "usr" && $5 == "refused"' "$T/cmd.out" | grep -q . || fail "pwdir log does not show the role user's refusals"
    awk -F'  ' '$2 == "stranger" && $5 == "refused"' "$T/cmd.out" | grep -q . || fail "pwdir log does not show the stranger's refusals"
    run_cmd log --user ana --json || fail "pwdir log --user ana --json failed"
    "$PY" - "$T/cmd.out" <<'PY' || fail "pwdir log --user ana --json: $(head -c 300 "$T/cmd.out")"
import json, sys
doc = json.load(open(sys.argv[1]))
events = doc["events"]
assert events, "no events"
bad = [e for e in events if e.get("actor") != "ana" and e.get("target") != "ana"]
assert not bad, "events not about or by ana: %r" % bad[:3]
assert any(e.get("actor") == "boss" and e.get("result") == "ok" for e in events), "no success by boss about ana"
PY
    run_cmd log --json || fail "pwdir log --json failed"
    "$PY" -c 'import json,sys; e=json.load(open(sys.argv[1]))["events"]; sys.exit(0 if any(x.get("target") not in ("ana", None) for x in e) else 1)' "$T/cmd.out" ||
        fail "the whole log has no event about anyone but ana (the --user filter proves nothing)"
    # --since: an event from 2020 (appended by hand) is not recent
    local audit=$T/audit.log
    [ -f "$audit" ] || fail "no audit.log beside the directory"
    printf '%s\n' '{"time":"2020-01-02T03:04:05Z","actor":"root","action":"user add","target":"ana","result":"ok","detail":"old event"}' >>"$audit"
    run_cmd log --since 1h --json || fail "pwdir log --since 1h failed"
    grep -q 'old event' "$T/cmd.out" && fail "pwdir log --since 1h shows an event from 2020"
    "$PY" -c 'import json,sys; e=json.load(open(sys.argv[1]))["events"]; sys.exit(0 if len(e) > 10 else 1)' "$T/cmd.out" || fail "pwdir log --since 1h shows (almost) nothing"
    run_cmd log --user ana || fail "pwdir log --user ana failed"
    grep -q 'old event' "$T/cmd.out" || fail "pwdir log without --since does not show the 2020 event"
    run_cmd log --since 2020-06-01 --user ana --json || fail "pwdir log --since 2020-06-01 failed"
    grep -q 'old event' "$T/cmd.out" && fail "pwdir log --since 2020-06-01 shows an event from 2020-01-02"
    if run_cmd log --since yesterday; then fail "pwdir log --since yesterday was accepted"; fi
    one_error_line "pwdir log --since yesterday"
}

# 7. The audit trail never holds a password, a hash or a code: this test's own flows, then
#    every audit file the other tests left, against every secret any test saw.

test_audit_has_no_secrets() {
    write_conf 'deny = 50' 'recovery_interval = 0'
    pw init >/dev/null || fail "init failed"
    user_with_password ana 'Audit-Secret-Pass-17' --email ana@corp.example --recovery-email ana@home.example
    user_with_password bob 'Bob-Audit-Pass-17' --email bob@corp.example
    pw user add cy --email cy@corp.example >/dev/null || fail "user add cy failed"
    local gen
    gen=$(pw passwd cy --generate | tail -n 1) || fail "passwd --generate failed"
    secret "$gen"
    pw passwd bob --generate --send >/dev/null || fail "passwd --generate --send failed"
    pw send-credentials cy >/dev/null || fail "send-credentials failed"
    wait_mail bob@corp.example password 1 10 && wait_mail cy@corp.example password 1 10 || fail "credentials mails missing"
    recover_at_prompt ana ana@home.example 'Audit-Recovered-Pass-27'
    try_code ana "$LAST_CODE" 'Audit-Reused-Pass-37' && fail "a used code worked"
    secret 'Audit-Reused-Pass-37'
    pw recover ana >/dev/null || fail "pwdir recover ana failed"
    sleep 1
    # every code and password that was mailed
    mail_list | awk -F'\t' '$3 == "code" || $3 == "password" { print $4 }' | while read -r v; do secret "$v" "${v//-/}"; done
    # wrong passwords typed at the prompt are secrets too
    login_refused ana 'Audit-Typo-Pass-47'
    secret 'Audit-Typo-Pass-47'

    grep -q '"actor":"pam:pwtest","action":"recovery code","target":"ana","result":"ok"' "$T/audit.log" ||
        fail "the module's recovery is not in the audit trail (so its absence of secrets proves little)"
    grep -q '"actor":"pam","action":"recovery code","target":"ana","result":"ok"' "$T/audit.log" ||
        fail "the helper's mailed code is not in the audit trail"
    local audits
    audits=$(ls "$TMP"/*/audit.log 2>/dev/null)
    [ -n "$audits" ] || fail "no audit.log anywhere"
    local f
    for f in $audits; do
        [ "$(stat -c %a "$f")" = 600 ] || fail "$f is mode $(stat -c %a "$f"), not 600"
        [ "$(stat -c %U "$f")" = root ] || fail "$f is owned by $(stat -c %U "$f")"
        grep -qF '$y$' "$f" && fail "$f holds a yescrypt hash: $(grep -F '$y$' "$f" | head -n 1)"
    done
    # every hash readable from the directories, their backups and the tallies
    cat "$TMP"/*/users "$TMP"/*/users- "$TMP"/*/users.tally/* 2>/dev/null | grep -oE '\$y\$[./A-Za-z0-9$]+' | sort -u >"$T/hashes"
    cat "$TMP/secrets" "$T/hashes" | sort -u >"$T/all-secrets"
    local n
    n=$(wc -l <"$T/all-secrets")
    note "checked $(echo "$audits" | wc -l) audit files ($(cat $audits | wc -l) events) against $n secrets ($(wc -l <"$T/hashes") hashes)"
    [ "$(wc -l <"$T/hashes")" -ge 3 ] || fail "found only $(wc -l <"$T/hashes") hashes to look for"
    [ "$n" -ge 10 ] || fail "only $n secrets to look for"
    local hits
    hits=$(cat $audits | grep -oFf "$T/all-secrets" | sort -u | head -n 5 | tr '\n' ' ')
    [ -z "$hits" ] || fail "the audit trail holds secrets: $hits"
    # and the check can see one: a line with a secret is found
    printf 'x %s x\n' "$gen" | grep -qFf "$T/all-secrets" || fail "the secret search itself finds nothing"
}

# 8. No zombie, no stray process: the module reaps the helper it starts, and the detached
#    helpers finish.

test_no_stray_process() {
    write_conf 'deny = 50' 'recovery_interval = 0'
    pw init >/dev/null || fail "init failed"
    user_with_password ana 'Ana-Secret-Pass-18' --email ana@corp.example --recovery-email ana@home.example
    recover_at_prompt ana ana@home.example 'Stray-Check-Pass-28'
    wait_mail ana@home.example changed 1 10 || fail "no notice mail"
    local i left
    for i in $(seq 1 50); do
        left=$(pgrep -af -- "pwdir recovery-" | grep -F -- "$T/" || true)
        [ -z "$left" ] && break
        sleep 0.1
    done
    [ -z "$left" ] || fail "helpers still running 5 s after the recovery: $left"

    # a long-lived host (real libpam, no pam_wrapper): after each pam_authenticate the helper the
    # module started must already be reaped — no zombie child, no running child
    cc -Wall -O1 -o "$T/host" "$HERE/recovery_host.c" -lpam || fail "cannot compile recovery_host.c"
    timeout 60 "$T/host" "$SVC" "$SERVICE" ana 4 >"$T/host.out" 2>&1
    local rc=$?
    cat "$T/host.out"
    grep -q 'round 4: pam_authenticate -> 7 ' "$T/host.out" || fail "the host's wrong-code rounds did not fail with PAM_AUTH_ERR: $(tail -n 2 "$T/host.out" | tr '\n' ' ')"
    [ $rc = 0 ] || fail "the module left children behind in the host: $(grep 'child' "$T/host.out" | head -n 3 | tr '\n' ' ')"
    # and a successful recovery in that host (the notice helper too), by a user with no earlier
    # request (ana's codes from the rounds above may still be on their way)
    user_with_password cy 'Cy-Secret-Pass-18' --email cy@corp.example --recovery-email cy@home.example
    rm -f "$T/code"
    timeout 60 "$T/host" "$SVC" "$SERVICE" cy 1 "$T/code" 'Host-Recovered-Pass-38' >"$T/host2.out" 2>&1 &
    local hpid=$!
    next_code cy@home.example 1 >"$T/code"
    wait $hpid
    rc=$?
    secret 'Host-Recovered-Pass-38'
    cat "$T/host2.out"
    grep -q 'round 1: pam_authenticate -> 0 ' "$T/host2.out" || fail "the recovery in the host failed: $(tail -n 3 "$T/host2.out" | tr '\n' ' ')"
    [ $rc = 0 ] || fail "the module left children behind after a successful recovery: $(grep 'child' "$T/host2.out" | head -n 3 | tr '\n' ' ')"
    wait_mail cy@home.example changed 1 10 || fail "no notice mail after the host's recovery"
    login_ok cy 'Host-Recovered-Pass-38'
    for i in $(seq 1 50); do
        left=$(pgrep -af -- "pwdir recovery-" | grep -F -- "$T/" || true)
        [ -z "$left" ] && break
        sleep 0.1
    done
    [ -z "$left" ] || fail "helpers still running 5 s after the host's recovery: $left"
    # (the detached helpers end as orphans of init, which reaps them: not the module's children)
    return 0
}

# ---------------------------------------------------------------------------------------------
# Harness

ALL_TESTS=(
    recovery_flow recovery_off same_answer_for_everyone rate_limit rate_limit_survives_used_up_code rate_limit_parallel
    codes_lock_account help_desk_recover roles no_stray_process audit_has_no_secrets
)

TEST_TRAP=stop_smtp
run_tests "$@"
