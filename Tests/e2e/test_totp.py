"""The second factor (issue 11): a TOTP key per user made by `pwdir totp enroll` (an otpauth://
URI and a QR code drawn in text, or mailed), asked at the module's prompt after the password
(`Verification code: `) when totp = optional or required; codes accepted within totp_window steps
of now, each step once (replays and parallel races refused), wrong codes counted in the lockout;
ten single-use recovery codes; code_in_password for single-prompt clients and the setuid helper;
self-service recovery asking the code too; managers; a full disk and a damaged key file.

Codes come from an independent implementation (oathtool, RFC 6238), for explicit steps: a test
that needs "now" first waits until enough of the current 30 s step is left (fresh_step), so no
code crosses a step boundary while the test runs. The QR code is read back by zbarimg from a PNG
drawn here from the command's text. Keys and recovery codes are secrets: none may reach an audit
trail (checked after every test of this file)."""
import json
import re
import stat
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import pexpect
import pytest

from pwdir_e2e import assert_one_error_line, base_environment, lines_of, run
# The full-disk world and the screen-locker host are those of their own suites (fixtures too).
from test_hardening_locks import (AUTH_ERR, AUTHINFO_UNAVAIL, MAXTRIES, PERM_DENIED, full_disk_world,  # noqa: F401
                                  private_mounts, refused_as)
from test_chkpwd import LOCAL, OWN_PASSWORD, host, lock_screen  # noqa: F401

PERIOD = 30
PROMPT = "Verification code: "
REQUIRED_MESSAGE = ("This account needs a second factor (an authenticator app) and has none yet. "
                    "Ask your administrator to enrol you.")
RECOVERY_REFUSED = "The verification code is wrong or was already used; your password was not changed"
RECOVERY_CODE = re.compile(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}")
MANAGER_LIMIT = "a manager may only"
ANA = ("--email", "ana@corp.example", "--recovery-email", "ana@home.example")


# ---------------------------------------------------------------------------------------------
# Helpers: steps and codes (oathtool), enrolments, logins


def fresh_step(margin: float = 5.0) -> int:
    """The current 30 s step, once at least MARGIN seconds of it are left (else sleeps into the
    next one): codes computed for it and its neighbours keep their place in the window while the
    test runs."""
    left = PERIOD - time.time() % PERIOD
    if left < margin:
        time.sleep(left + 0.05)
    return int(time.time()) // PERIOD


def totp(key: str, step: int) -> str:
    """The code of STEP for the base32 KEY, as oathtool (not pwdir) computes it."""
    result = run(["oathtool", "--totp", "-b", key, "-N", "@%d" % (step * PERIOD)], env=base_environment(), quiet=True)
    assert result.ok and re.fullmatch(r"\d{6}\n", result.out), "oathtool failed:\n%s" % result
    return result.out.strip()


def wrong_code(key: str, step: int) -> str:
    """Six digits that are no code of KEY for any step within 3 of STEP."""
    near = {totp(key, s) for s in range(step - 3, step + 4)}
    return next(c for c in ("%06d" % n for n in range(123456, 999999, 111111)) if c not in near)


@dataclass
class Enrolment:
    """What `pwdir totp enroll` showed: the key (base32), the URI, the whole output."""

    login: str
    key: str
    uri: str
    out: str

    def code(self, step: int) -> str:
        return totp(self.key, step)


def parse_enrolment(world, login: str, out: str) -> Enrolment:
    """The output of `pwdir totp enroll LOGIN` as documented: a sentence, the URI, the QR code,
    `key: BASE32` (last); the key and the URI are secrets from then on."""
    lines = out.splitlines()
    assert len(lines) > 4, "the enrolment output is too short:\n%s" % out
    assert lines[0].startswith("second factor of %s made" % login), "the first line is not the sentence:\n%s" % out
    assert lines[-1].startswith("key: ") and sum(line.startswith("key: ") for line in lines) == 1, \
        "the output does not end with one 'key: ' line:\n%s" % out
    enrolled = Enrolment(login, lines[-1][len("key: "):], lines[1], out)
    world.secret(enrolled.key, enrolled.uri)
    assert re.fullmatch(r"[A-Z2-7]{32}", enrolled.key), "the key %r is not 160 bits of base32" % enrolled.key
    return enrolled


def enrol(world, login: str, sudo_user: str = None) -> Enrolment:
    """`pwdir totp enroll LOGIN` (through sudo as SUDO_USER), which must succeed."""
    return parse_enrolment(world, login, world.pw_ok("totp", "enroll", login, sudo_user=sudo_user).out)


def key_file(world, login: str) -> Path:
    return Path(str(world.db) + ".totp") / login


def state_file(world, login: str) -> Path:
    return Path(str(world.db) + ".totp-state") / login


def recovery_codes(world, login: str, sudo_user: str = None) -> list:
    """`pwdir totp recovery-codes LOGIN`: its ten codes (a header line, then one a line). The
    codes, as typed in every form, and their hashes in the key file are secrets from then on."""
    out = world.pw_ok("totp", "recovery-codes", login, sudo_user=sudo_user).out
    lines = out.splitlines()
    assert len(lines) == 11, "recovery-codes did not print a header and ten codes:\n%s" % out
    assert not RECOVERY_CODE.fullmatch(lines[0]), "the header line is a code: %r" % lines[0]
    codes = lines[1:]
    for code in codes:
        assert RECOVERY_CODE.fullmatch(code), "%r is not a code like ABCD-EFGH-JKLM of the alphabet" % code
        world.secret(code, code.replace("-", ""), code.lower(), code.lower().replace("-", " "))
    world.secret(*re.findall(r"\$y\$\S+", key_file(world, login).read_text()))
    return codes


def login(world, user: str, password: str, code: str = None, **kwargs):
    """pamtester authenticate for USER: PASSWORD, then CODE (if any) at the next prompt."""
    return world.pam(user, answers=[password] + ([code] if code is not None else []), **kwargs)


def logs_in(world, user: str, password: str, code: str, what: str):
    """USER logs in with PASSWORD and, asked for it, CODE (WHAT says which code, for the failure)."""
    result = login(world, user, password, code)
    assert result.ok, "%s: %s was refused with the password and code %s:\n%s" % (what, user, code, result)
    assert PROMPT in result.output, "%s: %s logged in without being asked the code:\n%s" % (what, user, result)
    return result


def refused(world, user: str, password: str, code: str, answer: str, what: str):
    """USER is refused with PASSWORD and CODE, with the pamtester answer ANSWER."""
    result = login(world, user, password, code)
    assert not result.ok, "%s: %s logged in with the code %s:\n%s" % (what, user, code, result)
    refused_as(result, answer)
    return result


def log_events(world, user: str = None) -> list:
    """`pwdir log --json` (--user USER) events."""
    return json.loads(world.pw_ok("log", "--json", *(["--user", user] if user else [])).out)["events"]


def logged(events, actor=None, action=None, target=None, result=None, detail=None) -> bool:
    """Some event has the ACTOR, ACTION, TARGET and RESULT given, and DETAIL in its detail."""
    return any((actor is None or e.get("actor") == actor) and (action is None or e.get("action") == action)
               and (target is None or e.get("target") == target) and (result is None or e.get("result") == result)
               and (detail is None or detail in (e.get("detail") or "")) for e in events)


def same_but_pids(a, b) -> bool:
    """Two pamtester runs said the same, pids aside."""
    return [re.sub(r"\(\d*\)", "", t) for t in (a.out, a.err)] == [re.sub(r"\(\d*\)", "", t) for t in (b.out, b.err)]


@pytest.fixture(autouse=True)
def no_secret_in_the_audit_trail(world, secrets):
    """After each test: the audit trails of its world (those reachable from here) hold none of
    the keys, URIs, recovery codes or hashes it met."""
    before = set(secrets)
    yield
    found = [s for s in secrets - before if len(s) >= 8]
    for trail in world.folder.rglob("audit.log"):
        if stat.S_ISREG(trail.lstat().st_mode):
            text = trail.read_text(errors="replace")
            leaked = sorted(s for s in found if s in text)
            assert not leaked, "%s holds secrets: %s" % (trail, leaked[:3])


def totp_world(world, *conf):
    """The world with totp = optional (unless CONF says otherwise) and CONF, initialised."""
    said = any(re.match(r"totp *=", line) for line in conf)
    world.write_conf(*([] if said else ["totp = optional"]), *conf)
    world.init()
    return world


# ---------------------------------------------------------------------------------------------
# The QR code, read back by zbarimg

GLYPHS = {" ": (0, 0), "\u2580": (1, 0), "\u2584": (0, 1), "\u2588": (1, 1)}


def qr_text_to_png(text, path, scale=8, margin=4):
    """The QR code drawn in TEXT (lines of the four glyphs only, ANSI colours stripped; two module
    rows per line) as a grey PNG, SCALE pixels a module, MARGIN more modules of white around."""
    rows = [line for line in (re.sub(r"\x1b\[[0-9;]*m", "", line) for line in text.splitlines())
            if line and set(line) <= GLYPHS.keys()]
    width = max(map(len, rows))
    modules = []
    for r in rows:
        cells = [GLYPHS[c] for c in r.ljust(width)]
        modules += [[t for t, _ in cells], [b for _, b in cells]]
    px_w, side = (width + 2 * margin) * scale, b"\xff" * (margin * scale)
    blank = b"\x00" + b"\xff" * px_w
    raw = bytearray(blank * (margin * scale))
    for m in modules:
        raw += (b"\x00" + side + b"".join((b"\x00" if d else b"\xff") * scale for d in m) + side) * scale
    raw += blank * (margin * scale)

    def chunk(k, d):
        return struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", px_w, (len(modules) + 2 * margin) * scale, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b""))
    return rows


def scanned(world, text: str, name: str) -> str:
    """What zbarimg reads from the QR code drawn in TEXT."""
    png = world.path(name + ".png")
    rows = qr_text_to_png(text, png)
    assert rows and all(len(r) == len(rows[0]) for r in rows), "the QR code's lines are not all as wide"
    result = run(["zbarimg", "--raw", "-q", png], env=base_environment())
    assert result.ok, "zbarimg read no QR code in the enrolment's drawing:\n%s" % result
    return result.out.rstrip("\n")


# ---------------------------------------------------------------------------------------------
# Logging in with a code


def test_enrolled_user_logs_in_with_password_and_code(world):
    """`pwdir totp enroll` makes a key, shown in the URI and the `key:` line and kept in root's 0600
    file in a 0700 folder beside the directory; the user logs in with the password then the current
    code (oathtool's), asked at `Verification code: `; `totp show` then says when it was last
    used (never before), and never the key; enrolling again is refused in one line saying to
    remove it first; the audit trail has the enrolment and the show."""
    totp_world(world)
    world.user_with_password("ana", "Right-Password-1")
    ana = enrol(world, "ana")
    assert re.fullmatch(r"otpauth://totp/[^:/?]+:ana\?secret=%s&issuer=[^&]+&digits=6&period=30" % ana.key, ana.uri), \
        "the URI line is not otpauth://totp/ISSUER:ana?secret=KEY&issuer=ISSUER&digits=6&period=30: %r" % ana.uri
    folder, path = key_file(world, "ana").parent, key_file(world, "ana")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and folder.stat().st_uid == 0, "users.totp is not root's 0700"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.stat().st_uid == 0, "the key file is not root's 0600"
    assert "secret %s" % ana.key in path.read_text().splitlines(), "the key file does not hold the key shown"
    shown = world.pw_ok("totp", "show", "ana").out
    assert "ana: second factor since" in shown and "last used: never" in shown, shown
    assert ana.key not in shown, "totp show printed the key"

    step = fresh_step()
    result = logs_in(world, "ana", "Right-Password-1", ana.code(step), "the current step")
    assert re.search(r"Password: .*Verification code: ", result.output, re.S), "the code is not asked after the password"
    shown = world.pw_ok("totp", "show", "ana").out
    assert re.search(r"^last used: (?!never)\S", shown, re.M), "after a login totp show says:\n%s" % shown
    assert ana.key not in shown, "totp show printed the key"
    assert stat.S_IMODE(state_file(world, "ana").stat().st_mode) == 0o600, "the state file is not 0600"

    again = world.expect_clean_error("totp", "enroll", "ana")
    assert again.rc == 2 and "remove it first with 'pwdir totp remove ana'" in again.err, str(again)
    assert "secret %s" % ana.key in path.read_text().splitlines(), "a refused enrolment changed the key"
    events = log_events(world, "ana")
    assert logged(events, "root", "totp enroll", "ana", "ok"), "the enrolment is not in the audit trail"
    assert logged(events, "root", "totp show", "ana", "ok"), "totp show is not in the audit trail"


def test_window_accepts_neighbour_steps_only(world):
    """totp_window = 1 (the default): the codes of the previous, current and next steps are
    accepted (in that order: each is later than the one used before); two steps away either
    side refused (then the current code works: the setup was right). totp_window = 0: the
    current step only."""
    totp_world(world, "deny = 50")
    for name in ("ana", "bo", "cy"):
        world.user_with_password(name, "Right-Password-1")
    ana, bo, cy = (enrol(world, name) for name in ("ana", "bo", "cy"))
    step = fresh_step()
    for offset, what in ((-1, "the previous step"), (0, "the current step"), (1, "the next step")):
        logs_in(world, "ana", "Right-Password-1", ana.code(step + offset), what)
    refused(world, "bo", "Right-Password-1", bo.code(step - 2), AUTH_ERR, "two steps back")
    refused(world, "bo", "Right-Password-1", bo.code(step + 2), AUTH_ERR, "two steps ahead")
    logs_in(world, "bo", "Right-Password-1", bo.code(step), "the current step after the refusals")

    world.write_conf("totp = optional", "deny = 50", "totp_window = 0")
    step = fresh_step()
    refused(world, "cy", "Right-Password-1", cy.code(step + 1), AUTH_ERR, "totp_window = 0, the next step")
    refused(world, "cy", "Right-Password-1", cy.code(step - 1), AUTH_ERR, "totp_window = 0, the previous step")
    logs_in(world, "cy", "Right-Password-1", cy.code(step), "totp_window = 0, the current step")


def test_a_code_is_accepted_once(world):
    """The code just used is refused a second time (PAM_AUTH_ERR), and so is the previous
    step's, though in the window: only steps after the last used count. Both are in the audit
    trail as a code already used."""
    totp_world(world, "deny = 50")
    world.user_with_password("ana", "Right-Password-1")
    ana = enrol(world, "ana")
    step = fresh_step()
    logs_in(world, "ana", "Right-Password-1", ana.code(step), "the first use")
    refused(world, "ana", "Right-Password-1", ana.code(step), AUTH_ERR, "the same code again")
    refused(world, "ana", "Right-Password-1", ana.code(step - 1), AUTH_ERR, "an earlier step than the one used")
    assert logged(log_events(world, "ana"), action="login", target="ana", result="failed", detail="already used"), \
        "the replays are not in the audit trail as a code already used"
    logs_in(world, "ana", "Right-Password-1", ana.code(step + 1), "the next step")


def test_parallel_logins_with_one_code_let_one_in(world, note):
    """Four logins at once with the same password and code, for each of three users (twelve
    pamtester runs at once): exactly one per user gets in, the others are refused as plain
    authentication failures."""
    totp_world(world, "deny = 50")
    users = {name: None for name in ("ana", "bo", "cy")}
    for name in users:
        world.user_with_password(name, "Right-Password-1")
        users[name] = enrol(world, name)
    step = fresh_step()
    calls = [(name, ["Right-Password-1", users[name].code(step)]) for name in users for _ in range(4)]
    results = world.pam_parallel(calls)
    for name in users:
        mine = [r for (who, _), r in zip(calls, results) if who == name]
        winners = [r for r in mine if r.ok]
        assert len(winners) == 1, "%d of 4 parallel logins of %s with one code got in:\n%s" % (
            len(winners), name, "\n".join(map(str, mine)))
        for r in mine:
            if not r.ok:
                refused_as(r, AUTH_ERR)
    note("3 users x 4 parallel logins with one code: one each got in")


def test_wrong_codes_count_as_failed_logins(world):
    """deny = 3: three logins with the right password and wrong codes lock the account; then the
    right password and code are refused as locked (PAM_MAXTRIES) and `user show` says 3
    failures; `pwdir unlock` lets the user in. The right password with a wrong code does not
    clear earlier failures: two wrong passwords, then the right one with a wrong code, lock too."""
    totp_world(world, "deny = 3", "unlock_time = 600")
    world.user_with_password("ana", "Right-Password-1")
    ana = enrol(world, "ana")
    step = fresh_step()
    bad = wrong_code(ana.key, step)
    for _ in range(3):
        refused(world, "ana", "Right-Password-1", bad, AUTH_ERR, "a wrong code")
    result = refused(world, "ana", "Right-Password-1", ana.code(step), MAXTRIES, "locked by wrong codes")
    assert "locked" in result.output.lower(), "the user is not told the account is locked"
    shown = world.show("ana")
    assert shown["failures"] == 3 and shown["locked"] and shown["lockReason"] == "failures", shown
    world.pw_ok("unlock", "ana")
    logs_in(world, "ana", "Right-Password-1", ana.code(step), "after unlock")

    for n in (1, 2):
        refused(world, "ana", "Wrong-Password-%d" % n, bad, AUTH_ERR, "a wrong password")
    refused(world, "ana", "Right-Password-1", bad, AUTH_ERR, "the right password with a wrong code")
    assert world.show("ana")["failures"] == 3, "the right password with a wrong code cleared earlier failures"
    refused(world, "ana", "Right-Password-1", ana.code(step + 1), MAXTRIES, "two wrong passwords and a wrong code")
    world.pw_ok("unlock", "ana")
    logs_in(world, "ana", "Right-Password-1", ana.code(step + 1), "after the second unlock")


def test_wrong_password_still_asks_the_code(world):
    """An enrolled user with a wrong password is asked the code all the same and refused
    (PAM_AUTH_ERR), exactly as the right password with a wrong code is (pids aside); the code
    typed after a wrong password is not spent: it logs in with the right password after."""
    totp_world(world, "deny = 50")
    world.user_with_password("ana", "Right-Password-1")
    ana = enrol(world, "ana")
    step = fresh_step()
    wrong_password = refused(world, "ana", "Wrong-Password-1", ana.code(step), AUTH_ERR, "a wrong password")
    assert PROMPT in wrong_password.output, "a wrong password was not followed by the code prompt:\n%s" % wrong_password
    wrong = refused(world, "ana", "Right-Password-1", wrong_code(ana.key, step), AUTH_ERR, "a wrong code")
    assert same_but_pids(wrong_password, wrong), \
        "a wrong password and a wrong code answer differently:\n%s\n%s" % (wrong_password, wrong)
    logs_in(world, "ana", "Right-Password-1", ana.code(step), "the code typed after a wrong password")


def test_account_without_password_still_asks_the_code(world):
    """An enrolled account whose password was never set is asked the code like any wrong
    password (the prompt must tell nothing of the password's verdict), and refused."""
    totp_world(world, "deny = 50")
    world.user_with_password("ana", "Right-Password-1")
    world.pw_ok("user", "add", "np")
    enrol(world, "ana")
    np = enrol(world, "np")
    step = fresh_step()
    with_password = refused(world, "ana", "Wrong-Password-1", "123456", AUTH_ERR, "a wrong password")
    without = refused(world, "np", "Wrong-Password-1", np.code(step), AUTH_ERR, "an account with no password")
    assert PROMPT in without.output, "an enrolled account with no password is not asked the code:\n%s" % without
    assert same_but_pids(with_password, without), "a wrong password and no password answer differently"


def test_recovery_codes(world):
    """`totp recovery-codes` prints ten distinct codes (ABCD-EFGH-JKLM, no 0 1 I O); one logs in in
    place of the TOTP code, once (the user is told 9 left), typed in lower case with spaces too;
    `totp show` counts what is left; new codes revoke the unused old ones; without a second
    factor the command is refused in one line."""
    totp_world(world, "deny = 50")
    world.user_with_password("ana", "Right-Password-1")
    world.user_with_password("bo", "Right-Password-2")
    enrol(world, "ana")
    assert "recovery codes: none" in world.pw_ok("totp", "show", "ana").out
    codes = recovery_codes(world, "ana")
    assert len(set(codes)) == 10, "the ten codes are not distinct: %s" % codes
    result = logs_in(world, "ana", "Right-Password-1", codes[0], "a recovery code")
    assert "9 left" in result.output, "the user is not told how many codes are left:\n%s" % result
    refused(world, "ana", "Right-Password-1", codes[0], AUTH_ERR, "a recovery code used twice")
    assert "recovery codes: 9 of 10 left" in world.pw_ok("totp", "show", "ana").out
    typed = codes[1].lower().replace("-", " ")
    assert "8 left" in logs_in(world, "ana", "Right-Password-1", typed, "a code in lower case with spaces").output
    refused(world, "ana", "Wrong-Password-1", codes[2], AUTH_ERR, "a recovery code after a wrong password")

    new = recovery_codes(world, "ana")
    assert not set(new) & set(codes), "the new codes repeat old ones"
    refused(world, "ana", "Right-Password-1", codes[2], AUTH_ERR, "an old unused code after new ones were made")
    logs_in(world, "ana", "Right-Password-1", new[5], "a new code")
    assert "recovery codes: 9 of 10 left" in world.pw_ok("totp", "show", "ana").out
    assert world.expect_clean_error("totp", "recovery-codes", "bo").rc == 2


def test_policy_off_optional_required(world):
    """totp = required: a user without a second factor is refused with the right password
    (PAM_PERM_DENIED, told to ask for enrolment) and with a wrong one alike (the answer tells
    nothing of the password; nothing is counted), an enrolled one logs in with password and code,
    and so does the first once enrolled. totp = optional: a user without one logs in with the
    password alone, never asked a code. totp = off: an enrolled user too."""
    totp_world(world, "totp = required", "deny = 50")
    for name in ("ana", "bo", "cy"):
        world.user_with_password(name, "Right-Password-1")
    bo = enrol(world, "bo")
    result = refused(world, "ana", "Right-Password-1", None, PERM_DENIED, "required, not enrolled")
    assert REQUIRED_MESSAGE in result.output, "the user is not told to ask for enrolment:\n%s" % result
    assert PROMPT not in result.output, "a user without a second factor was asked a code"
    wrong = refused(world, "ana", "Wrong-Password-1", None, PERM_DENIED, "required, not enrolled, wrong password")
    assert wrong.output.replace("Wrong", "Right") == result.output.replace("Wrong", "Right"), \
        "a right and a wrong password of a user without a second factor answer differently:\n%s\n%s" % (result, wrong)
    assert world.show("ana")["failures"] == 0, "required, not enrolled: a password was counted"
    assert "ana: no second factor" in world.pw_ok("totp", "show", "ana").out
    step = fresh_step()
    logs_in(world, "bo", "Right-Password-1", bo.code(step), "required, enrolled")
    ana = enrol(world, "ana")
    logs_in(world, "ana", "Right-Password-1", ana.code(step), "required, enrolled afterwards")

    world.write_conf("totp = optional", "deny = 50")
    unknown = world.pam("nosuchuser", answers=["Right-Password-1", "123456"])
    assert PROMPT in unknown.output, "a name that is not an account is not asked the code:\n%s" % unknown
    result = world.login_ok("cy", "Right-Password-1")
    assert PROMPT not in result.output, "optional: a user without a second factor was asked a code"
    world.login_refused("cy", "Wrong-Password-1")

    world.write_conf("totp = off", "deny = 50")
    result = world.login_ok("bo", "Right-Password-1")
    assert PROMPT not in result.output, "totp = off: an enrolled user was asked a code"


def test_removed_second_factor(world):
    """`totp remove` takes key and state away (said in one line, audited); under optional the
    user logs in with the password alone, under required is refused; removing again, or a user
    who never had one, is refused in one line."""
    totp_world(world, "deny = 50")
    world.user_with_password("ana", "Right-Password-1")
    ana = enrol(world, "ana")
    logs_in(world, "ana", "Right-Password-1", ana.code(fresh_step()), "enrolled")
    assert state_file(world, "ana").exists()
    assert "second factor of ana removed" in world.pw_ok("totp", "remove", "ana").out
    assert not key_file(world, "ana").exists() and not state_file(world, "ana").exists(), "remove left the key or its state"
    assert "ana: no second factor" in world.pw_ok("totp", "show", "ana").out
    result = world.login_ok("ana", "Right-Password-1")
    assert PROMPT not in result.output, "a user whose second factor was removed is asked a code"
    world.write_conf("totp = required", "deny = 50")
    result = refused(world, "ana", "Right-Password-1", None, PERM_DENIED, "removed, required")
    assert REQUIRED_MESSAGE in result.output, str(result)
    assert world.expect_clean_error("totp", "remove", "ana").rc == 2
    assert logged(log_events(world, "ana"), "root", "totp remove", "ana", "ok"), "the removal is not in the audit trail"


# ---------------------------------------------------------------------------------------------
# Enrolment: the QR code, the mail, managers


def test_qr_code_reads_back_as_the_uri(world):
    """The QR code `totp enroll` draws (no colours through a pipe) reads back, with zbarimg, as
    exactly the URI line, and a code made from the key in it logs in; with totp_issuer = Example
    Corp the space is %20 in both label and issuer; at a terminal the lines are coloured black on
    bright white and the code still reads back."""
    totp_world(world, "deny = 50")
    world.user_with_password("ana", "Right-Password-1")
    ana = enrol(world, "ana")
    assert "\x1b[" not in ana.out, "colours through a pipe"
    read = scanned(world, ana.out, "ana")
    assert read == ana.uri, "the QR code says %r, the URI line %r" % (read, ana.uri)
    key = re.search(r"[?&]secret=([A-Z2-7]+)", read).group(1)
    logs_in(world, "ana", "Right-Password-1", totp(key, fresh_step()), "a code from the key in the QR code")

    world.write_conf("totp = optional", "totp_issuer = Example Corp")
    world.user_with_password("bo", "Right-Password-2")
    bo = enrol(world, "bo")
    assert bo.uri == "otpauth://totp/Example%%20Corp:bo?secret=%s&issuer=Example%%20Corp&digits=6&period=30" % bo.key, bo.uri
    assert scanned(world, bo.out, "bo") == bo.uri, "the QR code with a space in the issuer does not read back as the URI"

    world.pw_ok("user", "add", "cy")
    child = pexpect.spawn(str(world.binaries.pwdir), ["totp", "enroll", "cy"], env=world.env, encoding="utf-8", timeout=30)
    out = child.read().replace("\r\n", "\n")
    child.close()
    assert child.exitstatus == 0, "totp enroll at a terminal failed:\n%s" % out
    cy = parse_enrolment(world, "cy", out)
    assert "\x1b[30;107m" in out and "\x1b[0m" in out, "no colours at a terminal"
    assert scanned(world, out, "cy") == cy.uri, "the coloured QR code does not read back as the URI"


def test_enrolment_mailed(world, smtp):
    """`totp enroll --send` mails the URI and key to the recovery address (not the work one) and
    prints one line without them; the mailed key is the one the login wants. With a mail command
    that fails, or a user without an address, the error is one line and nothing is stored."""
    mailbox = smtp.mailbox
    world.mail_conf("totp = optional", "deny = 50")
    world.init()
    world.user_with_password("ana", "Right-Password-1", *ANA)
    world.user_with_password("bo", "Right-Password-2", "--email", "bo@corp.example")
    world.user_with_password("cy", "Right-Password-3")
    sent = world.pw_ok("totp", "enroll", "ana", "--send")
    assert mailbox.wait("ana@home.example", None, 1), "no enrolment mail reached ana's recovery address"
    [mail] = mailbox.all(to="ana@home.example")
    uri = re.search(r"otpauth://\S+", mail.body).group(0)
    key = re.search(r"[?&]secret=([A-Z2-7]{32})&", uri).group(1)
    world.secret(uri, key)
    assert key in re.sub(r"\s+", " ", mail.body).replace(uri, ""), "the mail does not give the key apart from the URI"
    assert len(sent.out.splitlines()) == 1 and "mailed" in sent.out, "the command did not say in one line it mailed:\n%s" % sent
    assert "otpauth" not in sent.output and key not in sent.output, "--send printed the URI or the key"
    assert mailbox.count(to="ana@corp.example") == 0, "the enrolment went to the work address too"
    logs_in(world, "ana", "Right-Password-1", totp(key, fresh_step()), "the key from the mail")

    world.write_conf("sendmail = /bin/false", "mail_from = pwdir@example.org", "totp = optional")
    failed = world.expect_clean_error("totp", "enroll", "bo", "--send")
    assert "otpauth" not in failed.output, "a failed --send printed the URI"
    world.expect_clean_error("totp", "enroll", "cy", "--send")
    for name in ("bo", "cy"):
        assert "%s: no second factor" % name in world.pw_ok("totp", "show", name).out, "a failed --send stored a key for %s" % name
        assert not key_file(world, name).exists()
        assert PROMPT not in world.login_ok(name, "Right-Password-%d" % (2 if name == "bo" else 3)).output


def test_managers_and_the_audit_trail(world):
    """A manager (through sudo) may enrol, show, make recovery codes for and remove the second
    factor of a user they manage; for anyone else (a user without manager, themselves) each is
    refused with exit status 77 in one line, nothing changed. The audit trail has the actions
    and the refusals, and no key, URI, recovery code or hash."""
    totp_world(world)
    world.pw_ok("user", "add", "boss", "--role", "manager")
    world.pw_ok("user", "add", "ana", "--manager", "boss")
    world.pw_ok("user", "add", "zed")
    zed = enrol(world, "zed")
    zed_before = key_file(world, "zed").read_bytes()
    ana = enrol(world, "ana", sudo_user="boss")
    assert "ana: second factor since" in world.pw_ok("totp", "show", "ana", sudo_user="boss").out
    codes = recovery_codes(world, "ana", sudo_user="boss")
    for target in ("zed", "boss"):
        for action in ("enroll", "show", "remove", "recovery-codes"):
            result = world.pw("totp", action, target, sudo_user="boss")
            assert result.rc == 77, "SUDO_USER=boss pwdir totp %s %s: status %d, not 77" % (action, target, result.rc)
            assert_one_error_line(result)
            assert MANAGER_LIMIT in result.err, str(result)
    assert key_file(world, "zed").read_bytes() == zed_before, "a refused manager's command changed zed's key"
    assert not key_file(world, "boss").exists(), "a refused manager's command enrolled the manager"
    assert "second factor of ana removed" in world.pw_ok("totp", "remove", "ana", sudo_user="boss").out

    events = log_events(world)
    for action in ("totp enroll", "totp show", "totp recovery-codes", "totp remove"):
        assert logged(events, "boss", action, "ana", "ok"), "boss's %s of ana is not in the audit trail" % action
        assert logged(events, "boss", action, "zed", "refused"), "boss's refused %s of zed is not in the audit trail" % action
    trail = world.path("audit.log").read_text()
    for secret in (ana.key, ana.uri, zed.key, *codes, *(c.replace("-", "") for c in codes)):
        assert secret not in trail, "the audit trail holds %r" % secret


# ---------------------------------------------------------------------------------------------
# Other ways in: one prompt, the setuid helper, self-service recovery


def test_code_in_password(world):
    """With the module argument code_in_password, the password immediately followed by the code in
    the one answer logs in, no second prompt; the same answer again is refused; the password
    alone is not enough."""
    totp_world(world, "deny = 50")
    world.user_with_password("ana", "Right-Password-1")
    ana = enrol(world, "ana")
    world.write_service(extra="code_in_password")
    step = fresh_step()
    result = world.pam("ana", answers=["Right-Password-1" + ana.code(step)])
    assert result.ok, "password and code in one answer were refused:\n%s" % result
    assert PROMPT not in result.output, "code_in_password: a second prompt was shown"
    refused_as(world.pam("ana", answers=["Right-Password-1" + ana.code(step)]), AUTH_ERR)
    assert not world.pam("ana", answers=["Right-Password-1"]).ok, "code_in_password: the password alone logged in"
    assert not world.pam("ana", answers=["Wrong-Password-1" + ana.code(step + 1)]).ok, "a wrong password with a code logged in"
    result = world.pam("ana", answers=["Right-Password-1" + ana.code(step + 1)])
    assert result.ok, "the next step's code after the password was refused:\n%s" % result


def test_screen_locker_types_the_code_after_the_password(host, world):
    """Through pwdir-chkpwd (a screen locker without root, no conversation): the enrolled user
    types the code right after the password in the one answer and gets in; the password alone,
    and the same code again, are refused."""
    host.sh("printf 'totp = optional\\ndeny = 50\\n' >> /etc/security/pwdir.conf")
    enrolled = parse_enrolment(world, LOCAL, host.run([host.pwdir, "totp", "enroll", LOCAL]).out)
    step = fresh_step()
    result = lock_screen(host, world, LOCAL, OWN_PASSWORD + enrolled.code(step))
    assert result.ok and "successfully authenticated" in result.output, str(result)
    assert not lock_screen(host, world, LOCAL, OWN_PASSWORD).ok, "the screen unlocked with the password alone"
    assert not lock_screen(host, world, LOCAL, OWN_PASSWORD + enrolled.code(step)).ok, "the screen unlocked with a used code"
    shown = host.run([host.pwdir, "totp", "show", LOCAL]).out
    assert re.search(r"^last used: (?!never)", shown, re.M), shown


def recovery_with_totp_world(world, binaries):
    """ana (password, work and recovery addresses) enrolled, in a world with self-service
    recovery (the module runs the pwdir under test for the mail); her Enrolment."""
    world.module_extra = "pwdir=%s" % binaries.pwdir
    world.write_service()
    world.recovery_conf("totp = optional", "deny = 50", "recovery_interval = 0")
    world.init()
    world.user_with_password("ana", "Old-Secret-Pass-41", *ANA)
    return enrol(world, "ana")


def test_self_service_recovery_asks_the_code(world, smtp, binaries):
    """An enrolled user starting recovery (an empty password) is asked the verification code right
    after the mailed recovery code; a wrong one refuses (said so) before any new password is
    asked, and changes nothing: the old password and a code still log in."""
    ana = recovery_with_totp_world(world, binaries)
    step = fresh_step()
    before = world.snapshot()
    conversation, code = world.start_recovery("ana", "ana@home.example")
    conversation.answer("Recovery code: ", code)
    conversation.answer(PROMPT, wrong_code(ana.key, step))
    result = conversation.finish(New_password="Never-Set-Pass-51", Retype_new_password="Never-Set-Pass-51")
    assert not result.ok, "recovery went through with a wrong verification code:\n%s" % result
    assert re.search(r"Recovery code: .*\n.*Verification code: ", result.output), "the code is not asked after the recovery code"
    assert RECOVERY_REFUSED in result.output, str(result)
    assert "New password: " not in result.output, "a wrong verification code was followed by the new password prompt"
    world.assert_unchanged(before, "a recovery refused for its verification code")
    world.login_refused("ana", "Never-Set-Pass-51")
    logs_in(world, "ana", "Old-Secret-Pass-41", ana.code(step), "the old password after the refused recovery")


@pytest.mark.parametrize("second", ["totp", "recovery-code"])
def test_self_service_recovery_with_the_right_code(world, smtp, binaries, second):
    """An enrolled user who gives the mailed recovery code and then the right verification code
    (the current TOTP code, or one of the second factor's recovery codes) chooses a new password,
    which then logs in only with a new code (the one used in the recovery is spent)."""
    ana = recovery_with_totp_world(world, binaries)
    codes = recovery_codes(world, "ana")
    step = fresh_step()
    conversation, code = world.start_recovery("ana", "ana@home.example")
    conversation.answer("Recovery code: ", code)
    conversation.answer(PROMPT, ana.code(step) if second == "totp" else codes[0])
    conversation.answer("New password: ", "Recovered-Pass-52")
    conversation.answer("Retype new password: ", "Recovered-Pass-52")
    result = conversation.finish()
    world.secret("Recovered-Pass-52")
    assert result.ok, "recovery with the right verification code failed:\n%s" % result
    spent = ana.code(step) if second == "totp" else codes[0]
    refused(world, "ana", "Recovered-Pass-52", spent, AUTH_ERR, "the code spent in the recovery")
    refused(world, "ana", "Old-Secret-Pass-41", ana.code(step + 1), AUTH_ERR, "the old password")
    logs_in(world, "ana", "Recovered-Pass-52", ana.code(step + 1), "the new password with a new code")


# ---------------------------------------------------------------------------------------------
# A full disk, a damaged key file


def test_full_disk_refuses_and_keeps_the_key(world, private_mounts):
    """On a full filesystem (a 256 KiB tmpfs, no block or inode left; ana enrolled before it
    filled), the right password and code are refused (PAM_AUTHINFO_UNAVAIL: the code could not
    be recorded as used) and the key file is byte for byte what it was; once space is freed,
    the same code logs in (the refusal recorded nothing), and then it is spent."""
    full = world.path("full")
    made = {}

    def enrol_before_fill(namespace):
        result = namespace.run([world.binaries.pwdir, "totp", "enroll", "ana"], world.env)
        assert result.ok, str(result)
        made["ana"] = parse_enrolment(world, "ana", result.out)
        made["key"] = namespace.run(["cat", full / "users.totp" / "ana"], world.env).out

    namespace = full_disk_world(world, private_mounts, ("ana", "Right-Password-1"), before_fill=enrol_before_fill)
    world.write_conf("deny = 3", "totp = optional")
    env = world.pam_env()
    ana = made["ana"]
    assert "secret " + ana.key in made["key"], "the key file does not hold the key shown"

    def attempt(code):
        return namespace.run(["pamtester", world.service, "ana", "authenticate"], env, stdin=lines_of("Right-Password-1", code))
    step = fresh_step()
    result = attempt(ana.code(step))
    refused_as(result, AUTHINFO_UNAVAIL)
    assert PROMPT in result.output, "the code was not asked on a full disk"
    assert namespace.run(["cat", full / "users.totp" / "ana"], world.env).out == made["key"], \
        "the key file changed on a full disk"
    freed = namespace.run(["sh", "-c", 'rm -f "$1"/fill "$1"/inode.*', "sh", full], world.env)
    assert freed.ok, str(freed)
    result = attempt(ana.code(step))
    assert result.ok, "the code refused on the full disk does not log in once space is freed:\n%s" % result
    refused_as(attempt(ana.code(step)), AUTH_ERR)
    assert namespace.run(["cat", full / "users.totp" / "ana"], world.env).out == made["key"], "a login changed the key file"


def test_damaged_key_file_refuses_the_login(world):
    """A key file damaged by hand (cut in the middle of the key; emptied) refuses the login with
    the right password and code, never lets the password alone in, and `totp show` fails with
    one clean line naming the file."""
    totp_world(world, "deny = 50")
    world.user_with_password("ana", "Right-Password-1")
    ana = enrol(world, "ana")
    path = key_file(world, "ana")
    whole = path.read_bytes()
    for damaged in (whole[:whole.index(b"secret ") + 15], b""):
        path.write_bytes(damaged)
        step = fresh_step()
        refused(world, "ana", "Right-Password-1", ana.code(step), AUTHINFO_UNAVAIL, "a damaged key file (%r...)" % damaged[:20])
        assert not world.pam("ana", answers=["Right-Password-1"]).ok, "a damaged key file let the password alone in"
        shown = world.expect_clean_error("totp", "show", "ana")
        assert str(path) in shown.err and "damaged" in shown.err, str(shown)
    path.write_bytes(whole)
    logs_in(world, "ana", "Right-Password-1", ana.code(fresh_step()), "the key file restored")


def test_damaged_key_file_can_be_removed_as_the_error_says(world):
    """The error about a damaged key file says to remove the second factor with `pwdir totp remove
    NAME` and enrol again: doing so works, and the user can be enrolled afresh."""
    totp_world(world, "deny = 50")
    world.user_with_password("ana", "Right-Password-1")
    enrol(world, "ana")
    path = key_file(world, "ana")
    path.write_bytes(path.read_bytes()[:30])
    advice = world.expect_clean_error("totp", "show", "ana")
    assert "pwdir totp remove ana" in advice.err, str(advice)
    world.pw_ok("totp", "remove", "ana")
    ana = enrol(world, "ana")
    logs_in(world, "ana", "Right-Password-1", ana.code(fresh_step()), "enrolled afresh")
