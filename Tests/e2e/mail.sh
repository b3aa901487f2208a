#!/usr/bin/env bash
# End-to-end tests of pwdir's mail and CSV import: `pwdir passwd --generate --send`,
# `pwdir send-credentials`, `pwdir import`, French mail, template overrides, and how the mail
# command is spawned. Mail is delivered for real: pwdir runs msmtp (a real MTA client), which
# talks SMTP to aiosmtpd (a real SMTP server) on 127.0.0.1; the received mails are read from
# its Maildir with Python's email module. Passwords found in the mails are tried with
# pamtester under pam_wrapper. Nothing outside a temp dir is touched: no /etc/pam.d, no
# system account, no system MTA.
#
#   Tests/e2e/mail.sh [TEST...]        run every test, or only those named
#   PWDIR_BIN=DIR Tests/e2e/mail.sh    take pwdir and libpam_pwdir.so from DIR
#                                      (default: .build/release under the repository root)
#   PWDIR_E2E_KEEP=1 Tests/e2e/mail.sh keep the temp dir (logs, mails, directories)
#
# Prints "ok - NAME" or "not ok - NAME: WHY" per test (a failing test's log follows as "#"
# lines), then exactly one line "N passed, M failed"; exit status 1 if any test failed.
# Needs: pamtester, libpam-wrapper, msmtp, /usr/bin/python3 with aiosmtpd (Debian's
# python3-aiosmtpd; a pyenv python3 on PATH usually lacks it, hence the absolute path).

set -u
set -o pipefail
umask 022
export LC_ALL=C.UTF-8

# shellcheck source=harness.bash
source "$(dirname "${BASH_SOURCE[0]}")/harness.bash"
PY=/usr/bin/python3
MSMTP=/usr/bin/msmtp

for tool in pamtester cmp timeout; do
    command -v "$tool" >/dev/null || bail "missing tool: $tool"
done
[ -x "$MSMTP" ] || bail "missing $MSMTP (apt-get install msmtp)"
"$PY" -c 'import aiosmtpd' 2>/dev/null || bail "$PY lacks aiosmtpd (apt-get install python3-aiosmtpd)"
ldconfig -p 2>/dev/null | grep -c 'libpam_wrapper\.so' >/dev/null || [ -e /usr/lib/x86_64-linux-gnu/libpam_wrapper.so ] ||
    bail "libpam_wrapper.so not found (apt-get install libpam-wrapper)"

TMP=$(mktemp -d /tmp/pwdir-mail.XXXXXX) || bail "mktemp failed"

kill_servers() {  # kill_servers PIDFILE...: the SMTP servers this suite started, and only those
    local f pid
    for f in "$@"; do
        [ -f "$f" ] || continue
        while read -r pid; do
            [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || continue
            # only if that pid is still our aiosmtpd (never a recycled pid)
            if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "aiosmtpd.*$TMP"; then
                kill "$pid" 2>/dev/null
            fi
        done <"$f"
    done
}

cleanup() {
    kill_servers "$TMP"/*/pids
    if [ -n "${PWDIR_E2E_KEEP:-}" ]; then echo "mail.sh: kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

HOST=$(uname -n)  # what pwdir puts in {{host}} (gethostname)

# The mail reader: every message the SMTP server stored, parsed by Python's email module with
# policy.default (RFC 2047 subjects and quoted-printable bodies decoded by it, not by us).
cat >"$TMP/mailtool.py" <<'PY'
import email, email.policy, json, os, re, sys

def load(maildir):
    """[(raw bytes, EmailMessage)] of every mail received, oldest first."""
    found = []
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        if os.path.isdir(d):
            for name in os.listdir(d):
                p = os.path.join(d, name)
                found.append((os.stat(p).st_mtime_ns, name, p))
    out = []
    for _, _, p in sorted(found):
        raw = open(p, "rb").read()
        out.append((raw, email.message_from_bytes(raw, policy=email.policy.default)))
    return out

def info(raw, msg):
    compat = email.message_from_bytes(raw)  # compat32: header values as sent (encoded words)
    part = msg.get_body(preferencelist=("plain",))
    return {
        "to": str(msg["To"]), "from": str(msg["From"]), "subject": str(msg["Subject"]),
        "raw_subject": compat["Subject"], "rcpt": str(msg["X-RcptTo"]), "mailfrom": str(msg["X-MailFrom"]),
        "bcc": msg.get_all("Bcc"), "cc": msg.get_all("Cc"), "header_names": [k for k in msg.keys()],
        "content_type": msg.get_content_type(), "charset": msg.get_content_charset(),
        "cte": str(msg["Content-Transfer-Encoding"]),
        "body": part.get_content() if part is not None else None,
        "raw_body": raw.split(b"\n\n", 1)[1].decode("ascii", "replace") if b"\n\n" in raw else "",
        "ascii": all(b < 128 for b in raw),
    }

PASSWORD = re.compile(r"^\s*(?:Temporary password|Mot de passe temporaire)\s*:\s*(\S+)\s*$|^password=(\S+)$", re.M)

def mails(maildir):
    return [info(r, m) for r, m in load(maildir)]

def password_in(body):
    found = [a or b for a, b in PASSWORD.findall(body or "")]
    return found[0] if len(found) == 1 else None

if __name__ == "__main__":
    cmd, maildir = sys.argv[1], sys.argv[2]
    ms = mails(maildir)
    if cmd == "json":
        json.dump(ms, sys.stdout, indent=1, ensure_ascii=False)
    elif cmd == "count":
        print(len(ms))
    elif cmd == "password":  # password MAILDIR ADDRESS: the password in the one mail to ADDRESS
        to = [m for m in ms if m["to"] == sys.argv[3]]
        if len(to) != 1:
            sys.exit("%d mails to %s (mails to: %s)" % (len(to), sys.argv[3], [m["to"] for m in ms]))
        p = password_in(to[0]["body"])
        if not p:
            sys.exit("no single password line in the mail to %s: %r" % (sys.argv[3], to[0]["body"]))
        print(p)
    else:
        sys.exit("unknown command " + cmd)
PY

# ---------------------------------------------------------------------------------------------
# Helpers. Every test runs in its own subshell with a fresh world from `setup`:
#   T (its folder), DB, CONF (PWDIR_DB / PWDIR_CONFIG point at them), SVC (service dir),
#   SERVICE (the service pamtester uses, "pwtest": auth/account/password/session, nodelay).

setup() {
    new_world
    PIDS=$T/pids
    MAILDIR=$T/maildir
    : >"$PIDS"
    : >"$CONF"
}

must_change() {  # must_change USER PASSWORD: logs in, but acct_mgmt demands a new password
    login_ok "$1" "$2" authenticate
    if printf '%s\n' "$2" | pam "$1" authenticate acct_mgmt; then
        fail "acct_mgmt accepted $1's mailed password, which must be changed"
    fi
    grep -qF "Authentication token is no longer valid; new one required" "$PAM_OUT" ||
        fail "acct_mgmt for $1 did not say a new password is required: $(tr '\n' ' ' <"$PAM_OUT" | cut -c1-300)"
}

user_with_password() {  # user_with_password NAME PASSWORD [user add options]: no forced change
    local name=$1 pass=$2
    shift 2
    pw user add "$name" "$@" >/dev/null || fail "user add $name failed"
    printf '%s\n' "$pass" | pw passwd "$name" --stdin --no-force-change >/dev/null || fail "passwd $name --stdin failed"
}

run_cmd() {  # run_cmd ARG...: pwdir with stdout/stderr in $T/cmd.out / $T/cmd.err, returns its status
    pw "$@" >"$T/cmd.out" 2>"$T/cmd.err" </dev/null
    local rc=$?
    echo "pwdir $* -> $rc"
    sed 's/^/    out| /' "$T/cmd.out" | head -n 40
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

err_has() {  # err_has TEXT WHAT: the last command's stderr contains TEXT
    grep -qF -- "$1" "$T/cmd.err" || fail "$2: the error lacks '$1': $(cat "$T/cmd.err")"
}

same_file() {  # same_file ORIGINAL CURRENT WHAT: byte-identical
    cmp -s "$1" "$2" || fail "$3 changed the directory file"
}

now_ms() { date +%s%3N; }

# --- the SMTP server and the MTA client ---

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

smtp_start() {  # a real SMTP server for this test: aiosmtpd storing into $MAILDIR; writes msmtprc
    SMTP_PORT=$(free_port)
    "$PY" -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$MAILDIR" >"$T/smtp.log" 2>&1 &
    SMTP_PID=$!
    echo "$SMTP_PID" >>"$PIDS"
    "$PY" - "$SMTP_PORT" <<'PY' || fail "the SMTP server did not come up on port $SMTP_PORT: $(cat "$T/smtp.log")"
import socket, sys, time
deadline = time.time() + 15
while time.time() < deadline:
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
        s.recv(100)  # the 220 greeting: it is really serving
        s.close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
    MSMTPRC=$T/msmtprc
    (umask 077 && printf '%s\n' 'account default' 'host 127.0.0.1' "port $SMTP_PORT" 'from pwdir@example.org' \
        'auth off' 'tls off' >"$MSMTPRC")
    chmod 600 "$MSMTPRC"
    echo "SMTP server pid $SMTP_PID on 127.0.0.1:$SMTP_PORT, Maildir $MAILDIR"
}

smtp_stop() {
    kill "$SMTP_PID" 2>/dev/null
    wait "$SMTP_PID" 2>/dev/null
    "$PY" -c 'import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close(); sys.exit(1)
except OSError:
    sys.exit(0)' "$SMTP_PORT" || fail "the SMTP server still accepts connections after it was stopped"
}

mail_conf() {  # mail_conf [EXTRA LINE...]: pwdir.conf sending through msmtp to our server
    printf '%s\n' "sendmail = $MSMTP -C $MSMTPRC -t" 'mail_from = pwdir@example.org' "$@" >"$CONF"
}

mails() { "$PY" "$TMP/mailtool.py" json "$MAILDIR"; }
mail_count() { "$PY" "$TMP/mailtool.py" count "$MAILDIR"; }
mailed_password() {  # mailed_password ADDRESS: the password in the one mail received for ADDRESS
    "$PY" "$TMP/mailtool.py" password "$MAILDIR" "$1" 2>"$T/mp.err" || fail "reading the mail to $1: $(cat "$T/mp.err")"
}

pycheck() {  # pycheck WHAT ARG... <<'PY' ...: Python assertions (mailtool importable); fail on error
    local what=$1
    shift
    PYTHONPATH=$TMP "$PY" - "$@" >"$T/py.out" 2>&1
    local rc=$?
    sed 's/^/    py| /' "$T/py.out"
    [ $rc = 0 ] || fail "$what: $(tail -n 1 "$T/py.out")"
}

not_printed() {  # not_printed PASSWORD FILE...: no 6-character piece of PASSWORD in the files
    "$PY" - "$@" <<'PY' || fail "the password (or part of it) was printed"
import sys
pw, files = sys.argv[1], sys.argv[2:]
text = "".join(open(f, encoding="utf-8", errors="replace").read() for f in files)
for i in range(len(pw) - 5):
    if pw[i:i + 6] in text:
        sys.exit("found %r" % pw[i:i + 6])
PY
}

show_json() {  # show_json NAME: `pwdir user show NAME --json` into $T/NAME.json
    pw user show "$1" --json >"$T/$1.json" 2>"$T/show.err" || fail "user show $1 failed: $(cat "$T/show.err")"
}

# ---------------------------------------------------------------------------------------------
# 1. passwd --generate --send

# The mailed password goes to the recovery address, logs in, must be changed; nothing of it
# is printed.
test_send_to_recovery_address() {
    smtp_start
    mail_conf
    pw init >/dev/null
    pw user add ana --email ana@corp.example --recovery-email ana.home@example.net --full-name 'Ana Lima' >/dev/null || fail "user add failed"
    run_cmd passwd ana --generate --send || fail "passwd --generate --send failed: $(cat "$T/cmd.err")"
    [ "$(mail_count)" = 1 ] || fail "$(mail_count) mails received, not 1"
    mails >"$T/mails.json"
    pycheck "the mail" "$T/mails.json" <<'PY'
import json, sys
[m] = json.load(open(sys.argv[1]))
assert m["to"] == "ana.home@example.net", m["to"]
assert m["rcpt"] == "ana.home@example.net", "envelope recipients: %s" % m["rcpt"]
assert m["from"] == "pwdir@example.org", m["from"]
assert not m["bcc"] and not m["cc"], m
assert m["body"].startswith("Hello Ana Lima,"), m["body"]
assert "Login:              ana\n" in m["body"], m["body"]
PY
    local password
    password=$(mailed_password ana.home@example.net)
    echo "mailed password: ${#password} characters"
    not_printed "$password" "$T/cmd.out" "$T/cmd.err"
    grep -q 'a\*\*\*@example.net' "$T/cmd.out" || fail "stdout does not say (masked) where it went: $(cat "$T/cmd.out")"
    grep -qF 'ana.home@' "$T/cmd.out" && fail "stdout shows the full address"
    grep -qF -- "$password" "$DB" && fail "the password is in the directory in plain text"
    must_change ana "$password"
    show_json ana
    pycheck "user show after --send" "$T/ana.json" <<'PY'
import json, sys
u = json.load(open(sys.argv[1]))
assert u["mustChangePassword"] is True and u["hasPassword"] is True, u
PY
}

# Without a recovery address the login email is used; --mailbox undoes --no-mailbox.
test_send_to_email() {
    smtp_start
    mail_conf
    pw init >/dev/null
    pw user add bo --email bo@corp.example --no-mailbox >/dev/null || fail "user add failed"
    pw user modify bo --mailbox >/dev/null || fail "user modify --mailbox failed"
    run_cmd passwd bo --generate --send || fail "passwd --generate --send failed: $(cat "$T/cmd.err")"
    local password
    password=$(mailed_password bo@corp.example)
    not_printed "$password" "$T/cmd.out" "$T/cmd.err"
    must_change bo "$password"
    # --no-force-change: the mailed password is the user's to keep
    mkdir -p "$T/earlier" && mv "$MAILDIR"/new/* "$T/earlier/"
    run_cmd passwd bo --generate --send --no-force-change || fail "passwd --generate --send --no-force-change failed"
    [ "$(mail_count)" = 1 ] || fail "$(mail_count) new mails, not 1"
    password=$(mailed_password bo@corp.example)
    login_ok bo "$password" authenticate acct_mgmt
}

# No usable address: one "pwdir: " line, nothing changed, no mail.
test_send_without_address_refused() {
    smtp_start
    mail_conf
    pw init >/dev/null
    user_with_password cy 'Old-Password-Cy-1'
    user_with_password dee 'Old-Password-Dee-1' --email dee@fict.example --no-mailbox
    cp "$DB" "$T/before"
    expect_clean_error "no email" passwd cy --generate --send
    err_has "recovery" "no email"
    same_file "$T/before" "$DB" "passwd --send for a user without address"
    expect_clean_error "no-mailbox email" passwd dee --generate --send
    err_has "no mailbox" "no-mailbox email"
    same_file "$T/before" "$DB" "passwd --send for a no-mailbox user"
    [ -s "$T/cmd.out" ] && fail "stdout is not empty on failure: $(cat "$T/cmd.out")"
    [ "$(mail_count)" = 0 ] || fail "a mail was sent"
    login_ok cy 'Old-Password-Cy-1' authenticate acct_mgmt
    login_ok dee 'Old-Password-Dee-1' authenticate acct_mgmt
    # a recovery address makes dee reachable
    pw user modify dee --recovery-email dee@home.example >/dev/null || fail "user modify --recovery-email failed"
    run_cmd passwd dee --generate --send || fail "passwd --send with a recovery email failed"
    must_change dee "$(mailed_password dee@home.example)"
    # a typed password is never mailed
    expect_clean_error "--send without --generate" passwd dee --stdin --send
}

# ---------------------------------------------------------------------------------------------
# 2. send-credentials to named users

test_send_credentials_three() {
    smtp_start
    mail_conf
    pw init >/dev/null
    local u
    for u in u1 u2 u3; do
        pw user add "$u" --email "$u@corp.example" --full-name "User ${u#u}" >/dev/null || fail "user add $u failed"
    done
    run_cmd send-credentials u1 u2 u3 || fail "send-credentials failed: $(cat "$T/cmd.err")"
    [ "$(mail_count)" = 3 ] || fail "$(mail_count) mails, not 3"
    mails >"$T/mails.json"
    pycheck "the three mails" "$T/mails.json" <<'PY'
import json, sys, mailtool
ms = json.load(open(sys.argv[1]))
assert sorted(m["to"] for m in ms) == ["u1@corp.example", "u2@corp.example", "u3@corp.example"], [m["to"] for m in ms]
for m in ms:
    login = m["to"].split("@")[0]
    assert "Login:              %s\n" % login in m["body"], (login, m["body"])
    assert "Hello User %s," % login[1:] in m["body"], m["body"]
    for other in {"u1", "u2", "u3"} - {login}:
        assert "Login:              %s\n" % other not in m["body"]
pws = [mailtool.password_in(m["body"]) for m in ms]
assert all(pws) and len(set(pws)) == 3, "passwords missing or repeated"
PY
    local p1 p2 p3
    p1=$(mailed_password u1@corp.example)
    p2=$(mailed_password u2@corp.example)
    p3=$(mailed_password u3@corp.example)
    not_printed "$p1" "$T/cmd.out" "$T/cmd.err"
    not_printed "$p2" "$T/cmd.out" "$T/cmd.err"
    not_printed "$p3" "$T/cmd.out" "$T/cmd.err"
    must_change u1 "$p1"
    must_change u2 "$p2"
    must_change u3 "$p3"
    login_refused u1 "$p2"
    grep -q '3 of 3 sent' "$T/cmd.out" || fail "no summary '3 of 3 sent': $(cat "$T/cmd.out")"
    # an unknown login: nothing sent, nothing changed
    cp "$DB" "$T/before"
    expect_clean_error "unknown login" send-credentials u1 nosuch
    same_file "$T/before" "$DB" "send-credentials with an unknown login"
    [ "$(mail_count)" = 3 ] || fail "a mail went out although a login was unknown"
}

# ---------------------------------------------------------------------------------------------
# 3. send-credentials --all with the SMTP server down; --json; --role; --manager

test_send_credentials_smtp_down() {
    smtp_start
    mail_conf
    pw init >/dev/null
    user_with_password ana 'Old-Password-Ana-1' --email ana@corp.example
    user_with_password bo 'Old-Password-Bo-1' --email bo@corp.example --recovery-email bo@home.example
    user_with_password cy 'Old-Password-Cy-1' --email cy@corp.example
    smtp_stop
    cp "$DB" "$T/before"
    if run_cmd send-credentials --all; then fail "send-credentials --all succeeded with the SMTP server down"; fi
    same_file "$T/before" "$DB" "send-credentials --all with the SMTP server down"
    local u
    for u in ana bo cy; do
        grep -q "^$u: failed: .*msmtp" "$T/cmd.out" || fail "the failure for $u is not reported with what msmtp said: $(cat "$T/cmd.out" "$T/cmd.err")"
    done
    grep -q '0 of 3 sent' "$T/cmd.out" || fail "no summary '0 of 3 sent'"
    if run_cmd send-credentials --all --json; then fail "send-credentials --all --json succeeded with the SMTP server down"; fi
    pycheck "--json with the server down" "$T/cmd.out" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
rs = {r["login"]: r for r in doc["results"]}
assert sorted(rs) == ["ana", "bo", "cy"], rs
for r in rs.values():
    assert r["result"] == "failed", r
    assert r.get("detail"), r
PY
    same_file "$T/before" "$DB" "send-credentials --all --json with the SMTP server down"
    login_ok ana 'Old-Password-Ana-1' authenticate acct_mgmt
    login_ok bo 'Old-Password-Bo-1' authenticate acct_mgmt
    login_ok cy 'Old-Password-Cy-1' authenticate acct_mgmt
}

test_send_credentials_selectors_json() {
    smtp_start
    mail_conf
    pw init >/dev/null
    pw user add boss --email boss@corp.example --role manager >/dev/null || fail "add boss"
    pw user add chief --email chief@corp.example --role manager >/dev/null || fail "add chief"
    pw user add adm --email adm@corp.example --role admin >/dev/null || fail "add adm"
    pw user add m1 --email m1@corp.example --manager boss >/dev/null || fail "add m1"
    pw user add m2 --recovery-email m2@home.example --manager boss >/dev/null || fail "add m2"
    user_with_password ghost 'Kept-Secret-Value-1' --email ghost@fict.example --no-mailbox --manager boss
    pw user add other --email other@corp.example --manager chief >/dev/null || fail "add other"

    run_cmd send-credentials --manager boss --json  # ghost is skipped: not all sent, exit non-zero
    pycheck "--manager boss --json" "$T/cmd.out" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
rs = {r["login"]: r for r in doc["results"]}
assert sorted(rs) == ["ghost", "m1", "m2"], "selected: %s" % sorted(rs)
assert rs["m1"]["result"] == "sent" and rs["m2"]["result"] == "sent", rs
assert rs["ghost"]["result"] == "skipped", rs["ghost"]
assert rs["ghost"].get("detail"), rs["ghost"]
assert rs["m1"]["recipient"] != "m1@corp.example" and rs["m1"]["recipient"].endswith("@corp.example"), "recipient not masked: %s" % rs["m1"]
PY
    [ "$(mail_count)" = 2 ] || fail "--manager boss: $(mail_count) mails, not 2"
    mailed_password m1@corp.example >/dev/null
    mailed_password m2@home.example >/dev/null
    login_ok ghost 'Kept-Secret-Value-1' authenticate acct_mgmt  # skipped: untouched

    run_cmd send-credentials --role admin --json || fail "--role admin failed: $(cat "$T/cmd.err")"
    pycheck "--role admin --json" "$T/cmd.out" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert [(r["login"], r["result"]) for r in doc["results"]] == [("adm", "sent")], doc
PY
    run_cmd send-credentials --role manager --json || fail "--role manager failed: $(cat "$T/cmd.err")"
    pycheck "--role manager --json" "$T/cmd.out" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert sorted((r["login"], r["result"]) for r in doc["results"]) == [("boss", "sent"), ("chief", "sent")], doc
PY
    [ "$(mail_count)" = 5 ] || fail "$(mail_count) mails after --role admin and --role manager, not 5"
    must_change adm "$(mailed_password adm@corp.example)"
    must_change chief "$(mailed_password chief@corp.example)"
    # nobody else was mailed
    mails >"$T/mails.json"
    pycheck "recipients" "$T/mails.json" <<'PY'
import json, sys
to = sorted(m["to"] for m in json.load(open(sys.argv[1])))
assert to == ["adm@corp.example", "boss@corp.example", "chief@corp.example", "m1@corp.example", "m2@home.example"], to
PY
    run_cmd send-credentials --all --json
    pycheck "--all --json" "$T/cmd.out" <<'PY'
import json, sys
rs = {r["login"]: r["result"] for r in json.load(open(sys.argv[1]))["results"]}
assert rs == {"adm": "sent", "boss": "sent", "chief": "sent", "ghost": "skipped", "m1": "sent", "m2": "sent", "other": "sent"}, rs
PY
    expect_clean_error "no selector" send-credentials
    expect_clean_error "two selectors" send-credentials --all --role admin
    expect_clean_error "unknown role" send-credentials --role root
}

# An unknown manager is an error, as an unknown login is, not an empty selection.
test_send_credentials_unknown_manager() {
    smtp_start
    mail_conf
    pw init >/dev/null
    pw user add boss --email boss@corp.example --role manager >/dev/null || fail "add boss"
    pw user add m1 --email m1@corp.example --manager boss >/dev/null || fail "add m1"
    cp "$DB" "$T/before"
    expect_clean_error "send-credentials --manager nosuch" send-credentials --manager nosuch
    err_has "nosuch" "send-credentials --manager nosuch"
    same_file "$T/before" "$DB" "send-credentials --manager nosuch"
    [ "$(mail_count)" = 0 ] || fail "mail went out"
}

# The same hostile values through `pwdir user add/modify`: refused before anything is written.
test_cli_hostile_values() {
    pw init >/dev/null
    user_with_password ana 'Old-Password-1' --email ana@corp.example
    cp "$DB" "$T/before"
    expect_clean_error "CRLF in --email" user add h1 --email $'a@b.example\r\nBcc: x@y.example'
    expect_clean_error "LF in --recovery-email" user modify ana --recovery-email $'a@b.example\nBcc: x@y.example'
    expect_clean_error "two addresses" user modify ana --recovery-email 'a@b.example, x@y.example'
    expect_clean_error "display name" user modify ana --email 'Ana <ana@corp.example>'
    expect_clean_error "CRLF in --full-name" user modify ana --full-name $'Ana\r\nBcc: x@y.example'
    expect_clean_error "escape in --full-name" user modify ana --full-name $'Ana \e]0;owned\a'
    expect_clean_error "unknown --lang" user modify ana --lang de
    expect_clean_error "--mailbox and --no-mailbox" user modify ana --mailbox --no-mailbox
    expect_clean_error "unknown --manager" user modify ana --manager ghost
    same_file "$T/before" "$DB" "hostile user add/modify values"
}

# ---------------------------------------------------------------------------------------------
# 4. CSV import

# Quoted commas, "" quotes, CRLF line ends, a UTF-8 BOM, columns in any order, a manager
# defined later in the file: every value lands exactly.
test_import_exact() {
    pw init >/dev/null
    { printf '\xef\xbb\xbf' && printf '%s\r\n' \
        'email,login,full_name,role,manager,recovery_email,no_mailbox,lang' \
        'ana@corp.example,ana,"Lima, Ana",admin,,,no,fr' \
        'bo@corp.example,bo,"Bo ""The Boss"" Berg",manager,ana,bo@home.example,,en' \
        'zoe@fict.example,zoe,Zoé Étienne,user,bo,,yes,fr' \
        ',li@corp.example,"Li, ""Lee"", Wei",,zed,li.home@example.net,,' \
        'q@corp.example,q,"""Quinn"" <q> & co",,,,,' \
        'zed@corp.example,zed,Zed,manager,,,,'; } >"$T/people.csv"
    # the BOM once, at the very start
    printf '\xef\xbb\xbf' | cmp -s -n 3 - "$T/people.csv" || fail "test file lacks its BOM"
    [ "$(grep -c $'\xef\xbb\xbf' "$T/people.csv")" = 1 ] || fail "test file has more than one BOM"
    run_cmd import "$T/people.csv" || fail "import failed: $(cat "$T/cmd.err")"
    grep -q '6 added' "$T/cmd.out" || fail "import does not say 6 added: $(cat "$T/cmd.out")"
    local u
    for u in ana bo zoe li@corp.example q zed; do show_json "$u"; done
    pycheck "imported values" "$T" <<'PY'
import json, os, sys
d = sys.argv[1]
def show(login):
    return json.load(open(os.path.join(d, login + ".json")))
expected = {
    "ana": dict(fullName="Lima, Ana", email="ana@corp.example", recoveryEmail=None, role="admin", manager=None, noMailbox=False, lang="fr"),
    "bo": dict(fullName='Bo "The Boss" Berg', email="bo@corp.example", recoveryEmail="bo@home.example", role="manager", manager="ana", noMailbox=False, lang="en"),
    "zoe": dict(fullName="Zoé Étienne", email="zoe@fict.example", recoveryEmail=None, role="user", manager="bo", noMailbox=True, lang="fr"),
    "li@corp.example": dict(fullName='Li, "Lee", Wei', email=None, recoveryEmail="li.home@example.net", role="user", manager="zed", noMailbox=False, lang=None),
    "q": dict(fullName='"Quinn" <q> & co', email="q@corp.example", recoveryEmail=None, role="user", manager=None, noMailbox=False, lang=None),
    "zed": dict(fullName="Zed", email="zed@corp.example", recoveryEmail=None, role="manager", manager=None, noMailbox=False, lang=None),
}
bad = []
for login, want in expected.items():
    got = show(login)
    if got["login"] != login:
        bad.append("%s: login %r" % (login, got["login"]))
    for k, v in want.items():
        if got.get(k) != v:
            bad.append("%s.%s = %r, want %r" % (login, k, got.get(k), v))
    if got.get("hasPassword"):
        bad.append(login + " has a password")
assert not bad, "; ".join(bad)
assert show("zoe").get("mailRecipient") is None, "mail would go to zoe's no-mailbox email"
PY
    pw user list --json >"$T/list.json" || fail "user list failed"
    pycheck "user count" "$T/list.json" <<'PY'
import json, sys
assert len(json.load(open(sys.argv[1]))["users"]) == 6
PY
}

# An embedded newline in a quoted full_name is a control character: refused, with the line
# the row starts on; lines after it are still numbered right (LF and CRLF files).
test_import_embedded_newline_refused() {
    pw init >/dev/null
    cp "$DB" "$T/before"
    local eol
    for eol in lf crlf; do
        "$PY" - "$T/multi-$eol.csv" "$eol" <<'PY'
import sys
nl = "\r\n" if sys.argv[2] == "crlf" else "\n"
lines = [
    "login,full_name,email",              # 1
    "a1,Ann One,a1@corp.example",         # 2
    'a2,"Ann',                            # 3
    'Two",a2@corp.example',               # 4
    "a3,Ann Three,not-an-address",        # 5
    'a4,"Multi',                          # 6
    "",                                   # 7
    'line",a4@corp.example',              # 8
    "a5,\"Esc \x1b[31mRed\",a5@corp.example",  # 9
    "a6,Ann Six,a6@corp.example",         # 10
]
open(sys.argv[1], "w", newline="").write(nl.join(lines) + nl)
PY
        expect_clean_error "embedded newlines ($eol)" import "$T/multi-$eol.csv"
        same_file "$T/before" "$DB" "import of a file with embedded newlines ($eol)"
        pycheck "line numbers ($eol)" "$T/cmd.err" <<'PY'
import re, sys
err = open(sys.argv[1]).read()
lines = sorted(int(n) for n in re.findall(r"line (\d+):", err))
assert lines == [3, 5, 6, 9], "lines named: %s in %s" % (lines, err)
assert re.search(r"line 3: [^;]*control character", err), err
assert re.search(r"line 6: [^;]*control character", err), err
assert re.search(r"line 5: [^;]*email", err), err
PY
    done
}

# One bad row among good ones: nothing is written; the error names that row's line.
test_import_one_bad_row() {
    pw init >/dev/null
    user_with_password old 'Old-Password-1' --email old@corp.example
    cp "$DB" "$T/before"
    printf '%s\n' 'login,full_name,email,role' 'n1,New One,n1@corp.example,user' 'n2,New Two,n2@corp.example,user' \
        'n3,New Three,n3@corp.example,superuser' 'n4,New Four,n4@corp.example,user' >"$T/one-bad.csv"
    expect_clean_error "one bad row" import "$T/one-bad.csv"
    err_has "line 4" "one bad row"
    err_has "superuser" "one bad row"
    grep -qE 'line (2|3|5)[^0-9]' "$T/cmd.err" && fail "good rows were reported: $(cat "$T/cmd.err")"
    same_file "$T/before" "$DB" "import with one bad row"
    expect_clean_error "n1 was not added" user show n1
}

# Every bad row is reported in the one error line.
test_import_every_bad_row() {
    pw init >/dev/null
    user_with_password old 'Old-Password-1' --email old@corp.example
    cp "$DB" "$T/before"
    printf '%s\n' \
        'login,full_name,email,recovery_email,role,manager,no_mailbox,lang' \
        'good1,Good One,g1@corp.example,,,,,' \
        'a:b,Colon,,,,,,' \
        'a/b,Slash,,,,,,' \
        '-x,Dash,,,,,,' \
        'r1,Role,,,root,,,' \
        'l1,Lang,,,,,,de' \
        'm1,Manager,,,,ghost,,' \
        'good1,Duplicate,,,,,,' \
        'old,Existing,,,,,,' \
        'e1,Email,"a@b.example, c@d.example",,,,,' \
        'nm,NoMailbox,,,,,maybe,' \
        'good2,Good Two,g2@corp.example,,,good1,,' >"$T/bad.csv"
    expect_clean_error "every bad row" import "$T/bad.csv"
    same_file "$T/before" "$DB" "import with many bad rows"
    pycheck "every bad row" "$T/cmd.err" <<'PY'
import re, sys
err = open(sys.argv[1]).read()
lines = sorted(int(n) for n in re.findall(r"line (\d+):", err))
want = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
assert lines == want, "lines named: %s, want %s: %s" % (lines, want, err)
assert "10 bad rows" in err, err
assert "already on line 2" in err, err
PY
}

# A row with the wrong number of fields and a row with a bad value are both reported.
test_import_mixed_bad_rows_all_reported() {
    pw init >/dev/null
    cp "$DB" "$T/before"
    printf '%s\n' 'login,full_name,email' 'ok1,Ok,ok1@corp.example' 'short,Short' 'bad-mail,Bad,not-an-address' >"$T/mixed.csv"
    expect_clean_error "mixed bad rows" import "$T/mixed.csv"
    same_file "$T/before" "$DB" "import with mixed bad rows"
    err_has "line 3" "mixed bad rows (field count)"
    err_has "line 4" "mixed bad rows (a bad address after a short row is reported too)"
}

# Hostile values, one file each: refused with the line and the reason; nothing written.
test_import_hostile_values() {
    pw init >/dev/null
    user_with_password old 'Old-Password-1' --email old@corp.example
    cp "$DB" "$T/before"
    local problems=() i=0 want content
    hostile() {  # hostile EXPECTED-TEXT CSV-CONTENT (printf %b escapes)
        i=$((i + 1))
        want=$1
        printf '%b' "$2" >"$T/hostile-$i.csv"
        if run_cmd import "$T/hostile-$i.csv"; then
            problems+=("#$i accepted")
        elif [ "$(wc -l <"$T/cmd.err")" != 1 ] || ! grep -q '^pwdir: ' "$T/cmd.err"; then
            problems+=("#$i: not one 'pwdir: ' line: $(tr '\n' '|' <"$T/cmd.err")")
        elif ! grep -qiF -- "$want" "$T/cmd.err"; then
            problems+=("#$i: lacks '$want': $(cat "$T/cmd.err")")
        fi
        cmp -s "$T/before" "$DB" || problems+=("#$i changed the directory")
        cp "$T/before" "$DB"
    }
    hostile 'line 2' 'login,email\nh1,"a@b.example\r\nBcc: x@y"\n'
    hostile 'line 2' 'login,email\nh1,"a@b.example\nBcc: x@y.example"\n'
    hostile 'line 2' 'login,email\r\nh1,"a@b.example\r\nBcc: x@y.example"\r\n'
    hostile 'recovery_email' 'login,recovery_email\nh1,"x@y.example, evil@z.example"\n'
    hostile 'email' 'login,email\nh1,Ana <ana@corp.example>\n'
    hostile 'line 2' 'login,full_name\na:b,Colon\n'
    hostile 'line 2' 'login,full_name\na/b,Slash\n'
    hostile 'line 2' 'login,full_name\n-x,Dash\n'
    hostile 'line 2' 'login,full_name\n.hidden,Dot\n'
    hostile 'line 2' 'login,full_name\n,No login\n'
    hostile 'line 2' 'login,full_name\n"a b",Space\n'
    hostile 'line 2' "login,full_name\n$(printf 'a%.0s' $(seq 1 65)),Long\n"
    hostile 'line 2' 'login,full_name\n"ab\0c",Nul\n'
    hostile 'role' 'login,role\nh1,root\n'
    hostile 'lang' 'login,lang\nh1,de\n'
    hostile 'no_mailbox' 'login,no_mailbox\nh1,perhaps\n'
    hostile 'unknown column' 'login,password\nh1,secret\n'
    hostile 'login' 'full_name,email\nAna,ana@corp.example\n'
    hostile 'twice' 'login,login\nh1,h1\n'
    hostile 'line 3' 'login,full_name\nh1,One\nh1,Again\n'
    hostile 'already exists' 'login,full_name\nold,Old\n'
    hostile 'ghost' 'login,manager\nh1,ghost\n'
    hostile 'line 2' 'login,manager\nh1,h1\n'
    hostile 'line 2' 'login,manager\nh1,bad:mgr\n'
    hostile 'control character' 'login,full_name\nh1,"Ana\r\nBcc: x@y.example"\n'
    hostile 'control character' 'login,full_name\nh1,"\033]0;owned\007"\n'
    hostile 'control character' 'login,full_name\nh1,"tab\there"\n'
    hostile '128' "login,full_name\nh1,$(printf 'n%.0s' $(seq 1 129))\n"
    hostile 'UTF-8' 'login,full_name\nh1,Zo\0351\n'
    hostile 'line 2' 'login,full_name\nh1,"unterminated\nh2,Two\n'
    hostile 'line 2' 'login,full_name\nh1,"Ann" x\nh2,Two\n'
    for content in "${problems[@]}"; do echo "problem: $content"; done
    [ ${#problems[@]} = 0 ] || fail "${#problems[@]} of $i hostile files mishandled: ${problems[*]}"
    login_ok old 'Old-Password-1' authenticate acct_mgmt
}

# --update modifies existing users (and only where something changed), keeps their password.
test_import_update() {
    pw init >/dev/null
    user_with_password old 'Old-Password-1' --email old@corp.example --full-name 'Old Name'
    pw user add boss --role manager >/dev/null || fail "add boss"
    pw user add same --email same@corp.example --full-name Same >/dev/null || fail "add same"
    printf '%s\n' 'login,full_name,email,role,manager,lang' \
        'old,New Name,new@corp.example,manager,boss,fr' \
        'same,Same,same@corp.example,,,' \
        'fresh,Fresh Person,fresh@corp.example,user,old,' >"$T/update.csv"
    cp "$DB" "$T/before"
    expect_clean_error "existing users without --update" import "$T/update.csv"
    err_has "--update" "existing users without --update"
    same_file "$T/before" "$DB" "import without --update"
    run_cmd import --update --json "$T/update.csv" || fail "import --update failed: $(cat "$T/cmd.err")"
    pycheck "import --update --json" "$T/cmd.out" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["added"] == ["fresh"], doc
assert doc["modified"] == ["old"], doc
PY
    show_json old
    show_json fresh
    pycheck "updated values" "$T/old.json" "$T/fresh.json" <<'PY'
import json, sys
old, fresh = (json.load(open(p)) for p in sys.argv[1:3])
want = dict(fullName="New Name", email="new@corp.example", role="manager", manager="boss", lang="fr", hasPassword=True)
bad = ["old.%s = %r" % (k, old.get(k)) for k, v in want.items() if old.get(k) != v]
assert not bad, bad
assert fresh["manager"] == "old" and fresh["fullName"] == "Fresh Person" and not fresh["hasPassword"], fresh
PY
    login_ok old 'Old-Password-1' authenticate acct_mgmt
}

# --send-credentials mails each NEW user their welcome kit; existing ones get nothing.
test_import_send_credentials() {
    smtp_start
    mail_conf
    pw init >/dev/null
    user_with_password old 'Old-Password-1' --email old@corp.example
    printf '%s\n' 'login,full_name,email,recovery_email,no_mailbox' \
        'old,Old Person,old@corp.example,,' \
        'n1,New One,n1@corp.example,,' \
        'n2,New Two,n2@corp.example,,' \
        'n3,New Three,n3@fict.example,n3@home.example,yes' >"$T/new.csv"
    run_cmd import --update --send-credentials "$T/new.csv" || fail "import --send-credentials failed: $(cat "$T/cmd.err")"
    [ "$(mail_count)" = 3 ] || fail "$(mail_count) mails, not 3 (one per new user)"
    mails >"$T/mails.json"
    pycheck "welcome kits" "$T/mails.json" <<'PY'
import json, sys
ms = json.load(open(sys.argv[1]))
assert sorted(m["to"] for m in ms) == ["n1@corp.example", "n2@corp.example", "n3@home.example"], [m["to"] for m in ms]
for m in ms:
    assert "Temporary password:" in m["body"] and "Login:" in m["body"], m["body"]
PY
    local p1 p2 p3
    p1=$(mailed_password n1@corp.example)
    p2=$(mailed_password n2@corp.example)
    p3=$(mailed_password n3@home.example)
    not_printed "$p1" "$T/cmd.out" "$T/cmd.err"
    not_printed "$p2" "$T/cmd.out" "$T/cmd.err"
    not_printed "$p3" "$T/cmd.out" "$T/cmd.err"
    must_change n1 "$p1"
    must_change n2 "$p2"
    must_change n3 "$p3"
    login_ok old 'Old-Password-1' authenticate acct_mgmt
    # a new user with no address is imported and reported as skipped
    printf '%s\n' 'login,full_name' 'n4,Nobody Reachable' >"$T/n4.csv"
    run_cmd import --send-credentials "$T/n4.csv"
    show_json n4
    grep -q '^n4: skipped' "$T/cmd.out" || fail "n4 is not reported as skipped: $(cat "$T/cmd.out")"
    [ "$(mail_count)" = 3 ] || fail "a mail went out for n4"
}

# 100,000 rows in under 5 seconds (a second try if the first is above).
test_import_100k() {
    pw init >/dev/null
    "$PY" - "$T/big.csv" <<'PY'
import sys
with open(sys.argv[1], "w", newline="") as f:
    f.write("login,full_name,email,role,manager,lang\r\n")
    f.write('boss,"Boss, The",boss@corp.example,manager,,en\r\n')
    for i in range(1, 100000):
        f.write('u%06d,"User %d, ""Test""",u%06d@corp.example,user,boss,%s\r\n' % (i, i, i, "fr" if i % 2 else "en"))
PY
    cp "$DB" "$T/empty"
    local try start end ms
    for try in 1 2; do
        cp "$T/empty" "$DB"
        start=$(now_ms)
        run_cmd import "$T/big.csv" >/dev/null || fail "importing 100,000 rows failed: $(cat "$T/cmd.err")"
        end=$(now_ms)
        ms=$((end - start))
        note "100,000 rows imported in $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s (try $try)"
        [ $ms -le 5000 ] && break
        [ "$try" = 2 ] && fail "100,000 rows took ${ms} ms twice (limit 5000 ms)"
    done
    grep -q '100000 added' "$T/cmd.out" || fail "not 100000 added: $(cat "$T/cmd.out")"
    show_json u099999
    pycheck "the last row" "$T/u099999.json" <<'PY'
import json, sys
u = json.load(open(sys.argv[1]))
assert u["fullName"] == 'User 99999, "Test"' and u["email"] == "u099999@corp.example" and u["manager"] == "boss" and u["lang"] == "fr", u
PY
}

# ---------------------------------------------------------------------------------------------
# 5. French mail: RFC 2047 subject, quoted-printable utf-8 body, decoded by Python's email

test_french_mail() {
    smtp_start
    mail_conf
    pw init >/dev/null
    pw user add zoe --email zoe@corp.example --full-name 'Zoé Étienne' --lang fr >/dev/null || fail "user add zoe failed"
    run_cmd passwd zoe --generate --send || fail "passwd --send failed: $(cat "$T/cmd.err")"
    mails >"$T/mails.json"
    local password
    password=$(mailed_password zoe@corp.example)
    pycheck "the French mail" "$T/mails.json" "$HOST" "$password" <<'PY'
import json, re, sys
[m] = json.load(open(sys.argv[1]))
host, password = sys.argv[2], sys.argv[3]
assert m["ascii"], "the mail is not 7-bit"
assert m["subject"] == "Vos accès à %s" % host, "subject %r" % m["subject"]
assert re.search(r"=\?utf-8\?[bq]\?", m["raw_subject"], re.I), "subject not RFC 2047-encoded: %r" % m["raw_subject"]
assert all(ord(c) < 128 for c in m["raw_subject"]), m["raw_subject"]
assert m["content_type"] == "text/plain" and m["charset"] == "utf-8", (m["content_type"], m["charset"])
assert m["cte"].lower() == "quoted-printable", m["cte"]
assert "=C3=A9" in m["raw_body"] or "=c3=a9" in m["raw_body"], "é is not quoted-printable in the raw body"
body = m["body"]
exp = re.search(r"^Ce mot de passe temporaire ne fonctionnera plus après le (.+) s'il n'est pas utilisé\.$", body, re.M)
assert exp, body
expected = f"""Bonjour Zoé Étienne,

Voici comment vous connecter à {host} :

    Identifiant :             zoe
    Mot de passe temporaire : {password}

Vous devrez choisir votre propre mot de passe à la première connexion.
Ce mot de passe temporaire ne fonctionnera plus après le {exp.group(1)} s'il n'est pas utilisé.

Si vous n'attendiez pas ce message, prévenez votre administrateur."""
assert body.rstrip("\n") == expected, "body differs:\n%r\nwant\n%r" % (body, expected)
PY
    must_change zoe "$password"
    # lang = fr as the default; a user's own --lang en wins
    mail_conf 'lang = fr'
    pw user add marc --email marc@corp.example --full-name 'Marc Noël' >/dev/null || fail "add marc"
    pw user add emma --email emma@corp.example --full-name 'Emma Brontë' --lang en >/dev/null || fail "add emma"
    run_cmd send-credentials marc emma || fail "send-credentials failed: $(cat "$T/cmd.err")"
    mails >"$T/mails.json"
    pycheck "languages" "$T/mails.json" "$HOST" <<'PY'
import json, sys
ms = {m["to"]: m for m in json.load(open(sys.argv[1]))}
host = sys.argv[2]
marc, emma = ms["marc@corp.example"], ms["emma@corp.example"]
assert marc["subject"] == "Vos accès à " + host and marc["body"].startswith("Bonjour Marc Noël,"), marc
assert emma["subject"] == "Your account on " + host and emma["body"].startswith("Hello Emma Brontë,"), emma
PY
}

# ---------------------------------------------------------------------------------------------
# 6. Template overrides: placeholders filled, no HTML escaping

test_template_override() {
    smtp_start
    mkdir -p "$T/tpl"
    mail_conf "templates_dir = $T/tpl"
    printf '%s\n' 'Subject: Welcome {{full_name}} to {{host}}' '' 'login={{login}}' 'name={{full_name}}' \
        'password={{password}}' 'host={{host}}' 'expires={{expires}}' '{{#must_change}}must change{{/must_change}}' >"$T/tpl/credentials.en.mustache"
    pw init >/dev/null
    pw user add ana --email ana@corp.example --full-name "Ana <&> O'Brien \"Q\"" >/dev/null || fail "user add ana failed"
    pw user add zoe --email zoe@corp.example --full-name 'Zoé' --lang fr >/dev/null || fail "user add zoe failed"
    run_cmd send-credentials ana zoe || fail "send-credentials failed: $(cat "$T/cmd.err")"
    mails >"$T/mails.json"
    local password
    password=$(mailed_password ana@corp.example)
    pycheck "the overridden mail" "$T/mails.json" "$HOST" "$password" <<'PY'
import json, re, sys
ms = {m["to"]: m for m in json.load(open(sys.argv[1]))}
host, password = sys.argv[2], sys.argv[3]
ana = ms["ana@corp.example"]
name = "Ana <&> O'Brien \"Q\""
assert ana["subject"] == "Welcome %s to %s" % (name, host), "subject %r" % ana["subject"]
lines = ana["body"].rstrip("\n").split("\n")
assert lines[:4] == ["login=ana", "name=" + name, "password=" + password, "host=" + host], lines
assert lines[4].startswith("expires=") and re.search(r"\d{4}", lines[4]), "expires not filled: %r" % lines[4]
assert lines[5:] == ["must change"], lines
for m in (ana["body"], ana["subject"], ana["raw_body"]):
    assert "&amp;" not in m and "&lt;" not in m and "&#39;" not in m and "&quot;" not in m, "HTML-escaped: %r" % m
assert "{{" not in ana["body"]
zoe = ms["zoe@corp.example"]
assert zoe["subject"] == "Vos accès à " + host and zoe["body"].startswith("Bonjour Zoé,"), "fr (no override) is not the built-in mail: %r" % zoe["subject"]
PY
    must_change ana "$password"
    # a template without its Subject line: refused before anything is sent or changed
    printf '%s\n' 'Hello {{full_name}}' '' 'password={{password}}' >"$T/tpl/credentials.en.mustache"
    cp "$DB" "$T/before"
    expect_clean_error "template without Subject" passwd ana --generate --send
    err_has "Subject" "template without Subject"
    same_file "$T/before" "$DB" "a template without Subject"
    [ "$(mail_count)" = 2 ] || fail "a mail went out with a broken template"
}

# ---------------------------------------------------------------------------------------------
# 7. How the mail command is spawned: no shell, a clean environment, its failures and hangs.
#
# The scripts below are NOT mail transports and no delivery test relies on them: every
# delivery above goes through msmtp to aiosmtpd. They only record or provoke what pwdir does
# with its `sendmail` command (environment, argv, stdin, exit status, stderr, time limit).

test_mail_command_clean_environment() {
    pw init >/dev/null
    pw user add ana --email ana@corp.example --full-name 'Ana Lima' >/dev/null || fail "user add failed"
    # records its environment, argv, open descriptors and stdin; exits 0 (accepts the message)
    cat >"$T/spy.py" <<PY
#!/usr/bin/python3
import json, os, sys
fds = sorted(int(f) for f in os.listdir("/proc/self/fd"))
data = sys.stdin.buffer.read()
open("$T/spy.stdin", "wb").write(data)
json.dump({"env": dict(os.environ), "argv": sys.argv, "fds": fds}, open("$T/spy.json", "w"))
PY
    chmod 755 "$T/spy.py"
    local setting="$T/spy.py -oi -t  * \$HOME ;id 'q' \`id\`"
    printf '%s\n' "sendmail = $setting" 'mail_from = pwdir@example.org' >"$CONF"
    export PWDIR_SECRET_CANARY=must-not-leak HOME=/root LD_LIBRARY_PATH=/nonexistent
    run_cmd passwd ana --generate --send || fail "passwd --send through the recording command failed: $(cat "$T/cmd.err")"
    unset LD_LIBRARY_PATH
    [ -s "$T/spy.json" ] || fail "the mail command did not run"
    pycheck "what the mail command got" "$T/spy.json" "$T/spy.stdin" "$setting" <<'PY'
import json, sys, email, email.policy, re
got = json.load(open(sys.argv[1]))
assert got["env"] == {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/"}, "environment: %s" % got["env"]
want_argv = sys.argv[3].split()
assert got["argv"] == want_argv, "argv %s, want %s" % (got["argv"], want_argv)
assert set(got["fds"]) <= {0, 1, 2, 3}, "descriptors leaked to the mail command: %s" % got["fds"]
raw = open(sys.argv[2], "rb").read()
assert b"\r\nTo: ana@corp.example\r\n" in raw, raw[:400]
assert b"\r\nFrom: pwdir@example.org\r\n" in raw, raw[:400]
m = email.message_from_bytes(raw, policy=email.policy.default)
assert m["To"] == "ana@corp.example" and m.get_all("Bcc") is None
assert re.search(r"Temporary password: \S+", m.get_body().get_content())
PY
    local password
    password=$("$PY" -c 'import email, email.policy, re, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
print(re.search(r"Temporary password: (\S+)", m.get_body().get_content()).group(1))' "$T/spy.stdin")
    not_printed "$password" "$T/cmd.out" "$T/cmd.err"
    must_change ana "$password"
}

test_mail_command_failure_reported() {
    pw init >/dev/null
    user_with_password ana 'Old-Password-1' --email ana@corp.example
    cat >"$T/refuse.sh" <<'SH'
#!/bin/sh
cat >/dev/null
echo "msmtp: recipient address ana@corp.example not accepted by the server" >&2
echo "msmtp: server message: 554 5.7.1 Relay access denied" >&2
exit 1
SH
    chmod 755 "$T/refuse.sh"
    printf '%s\n' "sendmail = $T/refuse.sh -t" 'mail_from = pwdir@example.org' >"$CONF"
    cp "$DB" "$T/before"
    expect_clean_error "a refusing mail command" passwd ana --generate --send
    err_has "Relay access denied" "a refusing mail command"
    err_has "status 1" "a refusing mail command"
    same_file "$T/before" "$DB" "passwd --send with a refusing mail command"
    [ -s "$T/cmd.out" ] && fail "stdout not empty: $(cat "$T/cmd.out")"
    login_ok ana 'Old-Password-1' authenticate acct_mgmt
    # a mail command that is not there
    printf '%s\n' "sendmail = $T/no-such-sendmail -t" 'mail_from = pwdir@example.org' >"$CONF"
    expect_clean_error "a missing mail command" passwd ana --generate --send
    same_file "$T/before" "$DB" "passwd --send with a missing mail command"
    # a relative one is refused by the settings
    printf '%s\n' "sendmail = msmtp -t" 'mail_from = pwdir@example.org' >"$CONF"
    expect_clean_error "a relative mail command" passwd ana --generate --send
    same_file "$T/before" "$DB" "passwd --send with a relative mail command"
}

test_mail_command_timeout() {
    pw init >/dev/null
    user_with_password ana 'Old-Password-1' --email ana@corp.example
    printf '#!/bin/sh\necho $$ >%s/hang.pid\nexec /bin/sleep 30\n' "$T" >"$T/hang.sh"
    chmod 755 "$T/hang.sh"
    printf '%s\n' "sendmail = $T/hang.sh -t" 'mail_from = pwdir@example.org' 'mail_timeout = 2' >"$CONF"
    cp "$DB" "$T/before"
    local start ms pid
    start=$(now_ms)
    expect_clean_error "a hanging mail command" passwd ana --generate --send
    ms=$(($(now_ms) - start))
    note "a hanging mail command with mail_timeout = 2 was reported after $ms ms"
    [ $ms -lt 3500 ] || fail "a hanging mail command was reported after $ms ms (mail_timeout = 2)"
    [ $ms -ge 1900 ] || fail "the hanging mail command was given up on after $ms ms, before mail_timeout"
    err_has "mail_timeout" "a hanging mail command"
    same_file "$T/before" "$DB" "passwd --send with a hanging mail command"
    pid=$(cat "$T/hang.pid")
    ! kill -0 "$pid" 2>/dev/null || fail "the hanging mail command (pid $pid) was not killed"
    login_ok ana 'Old-Password-1' authenticate acct_mgmt
}

# The time limit also holds for a mail command that closed its stdout and stderr (say, one
# that logs to a file) and then hangs.
test_mail_command_timeout_closed_output() {
    pw init >/dev/null
    user_with_password ana 'Old-Password-1' --email ana@corp.example
    printf '#!/bin/sh\nexec >/dev/null 2>&1\nexec /bin/sleep 6\n' >"$T/hang.sh"
    chmod 755 "$T/hang.sh"
    printf '%s\n' "sendmail = $T/hang.sh -t" 'mail_from = pwdir@example.org' 'mail_timeout = 2' >"$CONF"
    cp "$DB" "$T/before"
    local start ms rc=0
    start=$(now_ms)
    run_cmd passwd ana --generate --send || rc=$?
    ms=$(($(now_ms) - start))
    note "a hanging mail command without output, mail_timeout = 2: pwdir returned $rc after $ms ms"
    [ $rc != 0 ] || fail "pwdir took a mail command that hung for 6 s (mail_timeout = 2) as a sent mail, after $ms ms, and changed the password"
    [ $ms -lt 3500 ] || fail "reported after $ms ms (mail_timeout = 2)"
    same_file "$T/before" "$DB" "passwd --send with a hanging mail command"
}

# ---------------------------------------------------------------------------------------------
# Harness

ALL_TESTS=(
    send_to_recovery_address send_to_email send_without_address_refused
    send_credentials_three send_credentials_smtp_down send_credentials_selectors_json
    send_credentials_unknown_manager cli_hostile_values
    import_exact import_embedded_newline_refused import_one_bad_row import_every_bad_row
    import_mixed_bad_rows_all_reported import_hostile_values import_update import_send_credentials import_100k
    french_mail template_override
    mail_command_clean_environment mail_command_failure_reported mail_command_timeout
    mail_command_timeout_closed_output
)

after_test() { kill_servers "$TMP/$1/pids"; }
run_tests "$@"
