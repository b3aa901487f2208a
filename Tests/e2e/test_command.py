"""The `pwdir` command: its output (--json, never a hash), its errors (one line, a status, the
directory untouched), bad names, missing / corrupt / unsafe directory and settings files (the
module failing closed on them too), --db, and concurrent and killed writers."""
import json
import os
import random
import re
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from pwdir_e2e import (assert_one_error_line, directory_bytes, lines_of, password_hash_field, shard_file, shard_names, syslog_lines,
                       write_directory_file)


def user_lines(world) -> int:
    return sum(line.startswith(b"uid=") for line in world.snapshot().splitlines())


def test_json_output_never_shows_a_hash(world):
    """show / list / find --json are valid JSON naming the users asked for, and neither they nor
    the text outputs show a hash, userPassword or {CRYPT}."""
    world.init()
    world.pw_ok("user", "add", "ana", "--email", "ana@example.org", "--full-name", "Ana Lopez")
    world.pw_ok("user", "add", "bob")
    world.secret(world.pw_ok("passwd", "ana", "--generate").out.splitlines()[-1])
    world.pw_ok("passwd", "bob", "--stdin", stdin=lines_of("Dn4-Quartz-Vy7p"))
    for args in (["user", "show", "ana"], ["user", "show", "bob"], ["user", "list"], ["user", "find", "ana"],
                 ["user", "find", "example"]):
        out = world.pw_ok(*args, "--json").out
        json.loads(out)
        for leak in ("$y$", "userPassword", "{CRYPT}"):
            assert leak not in out, "pwdir %s --json shows %s" % (" ".join(args), leak)
        assert '"ana"' in out or "bob" in args, "pwdir %s --json does not mention ana" % " ".join(args)
    listed = json.loads(world.pw_ok("user", "list", "--json").out)
    users = listed["users"] if isinstance(listed, dict) else listed
    assert sorted(u["login"] for u in users) == ["ana", "bob"], "user list --json does not list exactly ana and bob"
    text = world.pw_ok("user", "show", "ana").out + world.pw_ok("user", "list").out
    assert "$y$" not in text and "userPassword" not in text, "user show/list shows a hash"


BAD_NAMES = ["a:b", "a/b", "a" * 65, "", "a\nb", ".x", "a b", "a%b", "a\tb"]


def test_bad_names_refused_before_any_file_is_touched(world):
    """Every command refuses a bad login name (colon, slash, 65 characters, empty, newline, leading
    dot or dash, space, %, tab) with one clean error line and the directory untouched; 64
    characters is the longest valid name; a duplicate is refused too."""
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    before = world.snapshot()
    for name in BAD_NAMES:
        world.expect_clean_error("user", "add", "--", name)
        world.assert_unchanged(before, "user add of bad name %r" % name)
        for args in (["lock"], ["passwd", "--generate"], ["user", "modify", "--full-name", "X"], ["user", "show"]):
            world.expect_clean_error(*args, "--", name)
        world.assert_unchanged(before, "commands on bad name %r" % name)
    world.expect_clean_error("user", "add", "-x")
    assert "x" in world.expect_clean_error("user", "add", "--", "-x").err, "the error for '-x' does not name it"
    world.assert_unchanged(before, "user add -x")
    world.pw_ok("user", "add", "a" * 64)
    world.pw_ok("user", "remove", "a" * 64)
    before = world.snapshot()
    world.expect_clean_error("user", "add", "ana")
    world.assert_unchanged(before, "a duplicate user add")
    world.login_ok("ana", "Right-Password-1")


MISSING_DIRECTORY_COMMANDS = [
    ["user", "list"], ["user", "list", "--json"], ["user", "show", "ana"], ["user", "find", "ana"],
    ["user", "add", "bob"], ["user", "modify", "ana", "--full-name", "X"], ["user", "remove", "ana"],
    ["passwd", "ana", "--generate"], ["lock", "ana"], ["unlock", "ana"],
]


def test_missing_directory(world):
    """On a missing directory every command fails with one line naming it and creates nothing;
    so does a missing folder; the module refuses with a syslog line naming the file and creates
    nothing either. It answers PAM_USER_UNKNOWN for a name it holds no tally of (nothing says the
    name is pwdir's), so a stack falls through to pam_unix and root keeps logging in; pwdir's own
    users fail closed (test_corrupt_directory_refused)."""
    empty = world.path("empty")
    empty.mkdir()
    world.use_directory(empty / "users")
    for args in MISSING_DIRECTORY_COMMANDS:
        result = world.expect_clean_error(*args)
        assert str(world.db) in result.err, "'pwdir %s' on a missing directory does not name it" % " ".join(args)
        assert not world.db.exists(), "'pwdir %s' created %s" % (" ".join(args), world.db)
    result = world.pw("passwd", "ana", "--stdin", stdin=lines_of("Some-Password-12"))
    assert not result.ok, "passwd --stdin on a missing directory succeeded"
    assert_one_error_line(result)
    world.expect_clean_error("user", "add", "bob", env={"PWDIR_DB": str(world.path("nofolder") / "users")})
    result = world.login_refused("ana", "Some-Password-12", debug=True)
    assert "User not known to the underlying authentication module" in result.output, str(result)
    assert any(str(world.db) in line for line in syslog_lines(result)), "no syslog line names the missing directory"
    world.login_refused("ana", "Some-Password-12", "acct_mgmt")
    assert not world.pam("ana", "chauthtok", answers=["Brand-New-Pass-1"] * 2).ok, "chauthtok on a missing directory succeeded"
    assert not world.db.exists(), "the module created %s" % world.db


def test_missing_directory_leaves_no_files(world):
    """Nothing is half-written: a command or a chauthtok failing on a missing directory leaves
    nothing in its folder (no users.lock where a mistyped --db pointed)."""
    empty = world.path("empty")
    empty.mkdir()
    world.use_directory(empty / "users")
    for args in MISSING_DIRECTORY_COMMANDS:
        assert not world.pw(*args).ok, "'pwdir %s' succeeded on a missing directory" % " ".join(args)
        assert not os.listdir(empty), "'pwdir %s' left files behind: %s" % (" ".join(args), os.listdir(empty))
    world.pam("ana", "chauthtok", answers=["Brand-New-Pass-1"] * 2)
    assert not os.listdir(empty), "the module's chauthtok left files behind: %s" % os.listdir(empty)


def corrupt(kind: str, pristine: bytes) -> bytes:
    """A corrupt copy of a directory holding a header, ana, bob and the trailer (lines 1 to 4)."""
    if kind == "garbage":
        return pristine + b"this is not a user line\n"
    if kind == "truncated":  # the trailer cut short, no final newline
        return pristine[:-4]
    if kind == "cut":  # the file cut in the middle of the last user line
        return b"".join(pristine.splitlines(keepends=True)[:3])[:-30]
    assert kind == "header"
    return b"passwd-file 1\n" + b"".join(pristine.splitlines(keepends=True)[1:])


@pytest.mark.parametrize("fmt, kind, line", [(1, "garbage", "(4|5)"), (1, "truncated", "4"), (1, "cut", "3"), (1, "header", "1"),
                                             (2, "garbage", "260"), (2, "truncated", "259"), (2, "cut", "1"), (2, "header", "1")],
                         ids=["garbage", "truncated", "cut", "header", "users-garbage", "users-truncated", "users-cut", "users-header"])
def test_corrupt_directory_refused(world, fmt, kind, line):
    """On a corrupt directory (garbage after the trailer, a truncated trailer, a cut line, a
    wrong header; in format 2, of `users`, which names the shards) every command fails with one
    line naming the bad line and writes nothing; the module fails closed even for the right
    password, says why in syslog, and writes nothing."""
    world.init("--format", str(fmt))
    world.user_with_password("ana", "Right-Password-1")
    world.user_with_password("bob", "Dn4-Quartz-Vy7p")
    world.login_ok("ana", "Right-Password-1")
    pristine = world.db.read_bytes()
    bad = corrupt(kind, pristine)
    world.db.write_bytes(bad)
    bad = world.snapshot()
    for args in (["user", "add", "carol"], ["user", "modify", "ana", "--full-name", "X"], ["user", "remove", "bob"],
                 ["passwd", "ana", "--generate"], ["lock", "ana"], ["unlock", "ana"], ["user", "list"], ["user", "show", "ana"]):
        result = world.expect_clean_error(*args)
        assert re.search(r"line %s\b" % line, result.err), "'pwdir %s' does not name line %s" % (" ".join(args), line)
        world.assert_unchanged(bad, "'pwdir %s'" % " ".join(args))
    result = world.pw("passwd", "ana", "--stdin", "--no-force-change", stdin=lines_of("Another-Pass-123"))
    assert not result.ok, "passwd --stdin succeeded"
    assert re.search(r"^pwdir: .*line %s\b" % line, result.err, re.M), str(result)
    world.assert_unchanged(bad, "passwd --stdin")
    result = world.login_refused("ana", "Right-Password-1", debug=True)
    assert any(str(world.db) in l for l in syslog_lines(result)), "no syslog line names the directory"
    world.login_refused("bob", "Dn4-Quartz-Vy7p")
    assert not world.pam("ana", "chauthtok", answers=["Brand-New-Pass-1"] * 2).ok, "chauthtok succeeded"
    world.assert_unchanged(bad, "the module")
    world.db.write_bytes(pristine)
    world.login_ok("ana", "Right-Password-1")


def test_corrupt_shard_refuses_its_users_only(world):
    """Format 2: a shard changed by hand into something the command refuses (a line without
    'uid=') refuses its own users, in the command and in the module alike, naming the shard's
    file and line; the users of other shards go on (a corrupt shard is never read for them)."""
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    other = next(n for n in ("bob", "carl", "dora", "emil", "fay") if shard_file(world.db, n) != shard_file(world.db, "ana"))
    world.user_with_password(other, "Dn4-Quartz-Vy7p")
    shard = shard_file(world.db, "ana")
    text = shard.read_bytes()
    bad = text.replace(b"uid=ana\t", b"uid=ana\tbroken\t")
    shard.write_bytes(bad)
    before = world.snapshot()
    for args in (["user", "modify", "ana", "--full-name", "X"], ["passwd", "ana", "--generate"], ["lock", "ana"],
                 ["user", "show", "ana"], ["user", "list"], ["user", "remove", other]):
        result = world.expect_clean_error(*args)
        assert str(shard) in result.err and re.search(r"line 2\b", result.err), "'pwdir %s' does not name %s line 2: %s" % (
            " ".join(args), shard, result.err)
        world.assert_unchanged(before, "'pwdir %s'" % " ".join(args))
    result = world.login_refused("ana", "Right-Password-1", debug=True)
    assert any(str(shard) in l for l in syslog_lines(result)), "no syslog line names the shard"
    world.assert_unchanged(before, "the module")
    world.login_ok(other, "Dn4-Quartz-Vy7p")
    world.pw_ok("user", "modify", other, "--full-name", "Still Working")
    shard.write_bytes(text)
    world.login_ok("ana", "Right-Password-1")


def test_duplicate_login_never_unlocks(world):
    """A login on two lines, one locked by the administrator: the command reports the file as
    corrupt (naming a line), and the module, which reads only the lines its search probes, never
    lets the unlocked copy in — whatever the order and the users around."""
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    hash_field = password_hash_field(world.snapshot())
    granted = []
    for locked_first, before, after in [(True, 0, 10), (True, 0, 60), (True, 10, 30), (False, 10, 0), (False, 30, 10),
                                        (True, 0, 0), (False, 0, 0)]:
        line = "uid=ana\t" + hash_field
        locked = line + "\tpwdAccountLockedTime=000001010000Z"
        pair = [locked, line] if locked_first else [line, locked]
        write_directory_file(world.db, ["uid=a%02d" % i for i in range(before)] + pair + ["uid=b%02d" % i for i in range(after)])
        assert re.search(r"line [0-9]", world.expect_clean_error("user", "list").err), "the duplicate login error names no line"
        if world.pam("ana", answers=["Right-Password-1"]).ok:
            granted.append((locked_first, before, after))
    assert not granted, "the module let ana (locked on one of two lines) log in with (locked first, before, after): %s" % granted


def test_far_apart_duplicate_and_disorder_never_unlock(world):
    """A login twice far from its twin (an unlocked stale copy, then other users, then the locked
    one), or a stale copy out of order: the binary search alone would find the unlocked copy.
    The module checks a version the seal (`users.seal`, written by every pwdir writer) does not
    name as strictly as the command does, so it refuses what the command refuses — then, the
    file mended by a pwdir write, logs in again without re-checking."""
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    hash_field = password_hash_field(world.snapshot())
    line = "uid=ana\t" + hash_field
    locked = line + "\tpwdAccountLockedTime=000001010000Z"
    layouts = {
        "twin far away": ["uid=a%02d" % i for i in range(5)] + [line] + ["uid=am%02d" % i for i in range(40)] + [locked]
                         + ["uid=b%02d" % i for i in range(5)],
        "stale copy out of order": ["uid=a%02d" % i for i in range(20)] + [locked] + ["uid=b%02d" % i for i in range(20)]
                                   + [line] + ["uid=c%02d" % i for i in range(3)],
    }
    for name, lines in layouts.items():
        write_directory_file(world.db, lines)
        assert re.search(r"line [0-9]", world.expect_clean_error("user", "list").err), name
        result = world.pam("ana", answers=["Right-Password-1"], debug=True)
        assert not result.ok, "%s: the module let ana (locked on one of two lines) in: %s" % (name, result)
        assert any("line" in l for l in syslog_lines(result)), "%s: no syslog line names the bad line" % name
    write_directory_file(world.db, [line])
    world.login_ok("ana", "Right-Password-1")
    sealed = world.path("users.seal").read_bytes() if world.path("users.seal").exists() else b""
    assert sealed.startswith(b"pwdir-seal 1 "), "the module did not seal the version it checked whole: %r" % sealed[:40]


def test_symlinks_never_followed(world):
    """A temp file or backup left as a symlink is replaced, never written through; a symlinked lock
    file is not followed (refusing is fine, with one clean line); a symlinked or group-writable
    directory is refused by the command and the module."""
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    victim = world.path("victim")
    victim.write_text("precious\n")
    plus, minus, lock = (world.path("users" + suffix) for suffix in ("+", "-", ".lock"))
    os.symlink(victim, plus)
    world.pw_ok("user", "add", "bob")
    assert victim.read_text() == "precious\n", "a write with users+ a symlink changed the victim file"
    assert not plus.exists() and not plus.is_symlink(), "users+ left behind"
    minus.unlink(missing_ok=True)
    os.symlink(victim, minus)
    world.pw_ok("user", "add", "carol")
    assert victim.read_text() == "precious\n", "a write with users- a symlink changed the victim file"
    lock.unlink(missing_ok=True)
    os.symlink(victim, lock)
    before = world.snapshot()
    result = world.pw("user", "add", "dave")
    if not result.ok:
        assert_one_error_line(result)
        world.assert_unchanged(before, "a refused write with a symlinked lock file")
    assert victim.read_text() == "precious\n", "a write with users.lock a symlink changed the victim file"
    assert victim.stat().st_mode & 0o7777 == 0o644, "the victim's mode changed to %o" % (victim.stat().st_mode & 0o7777)
    lock.unlink()
    real = world.path("real")
    world.db.rename(real)
    os.symlink(real, world.db)
    world.expect_clean_error("user", "list")
    world.login_refused("ana", "Right-Password-1")
    world.db.unlink()
    real.rename(world.db)
    world.login_ok("ana", "Right-Password-1")
    world.db.chmod(0o620)
    world.expect_clean_error("user", "list")
    world.login_refused("ana", "Right-Password-1")
    world.db.chmod(0o600)
    world.login_ok("ana", "Right-Password-1")


def test_settings_others_may_write_refused(world):
    """Settings that group or others may write are refused by the command (saying so) and the
    module (failing closed); once 0644 again, both use them."""
    world.init()
    world.user_with_password("cy", "Right-Password-1")
    world.write_conf("deny = 3")
    world.conf.chmod(0o664)
    result = world.pw("user", "list")
    assert not result.ok, "a group-writable pwdir.conf was used"
    assert "others may write" in result.err, "no clear refusal:\n%s" % result
    world.login_refused("cy", "Right-Password-1")
    world.conf.chmod(0o644)
    world.login_ok("cy", "Right-Password-1")


def test_db_option_selects_the_directory(world):
    """--db PATH (before or after the subcommand) wins over PWDIR_DB, which is never touched
    while --db is given; PWDIR_DB alone selects the directory."""
    decoy = world.path("decoy")
    world.env["PWDIR_DB"] = str(decoy)
    db = str(world.path("explicit"))
    world.pw_ok("init", "--db", db)
    world.pw_ok("user", "add", "ana", "--db", db)
    assert not decoy.exists(), "--db PATH did not override PWDIR_DB"
    world.pw_ok("user", "show", "ana", env={"PWDIR_DB": db})
    world.pw_ok("--db", db, "user", "add", "bob")
    world.pw_ok("--db", db, "--config", str(world.conf), "user", "list")
    assert re.search(rb"^uid=bob", directory_bytes(world.path("explicit")), re.M), "bob is not in the directory given with --db"
    assert not decoy.exists(), "a command wrote to PWDIR_DB although --db was given"


def test_concurrent_writers_lose_nothing(world, note):
    """16 `pwdir passwd` at once, while the module counts failed logins and changes another
    user's password in loops: every write lands, no wrong password ever logs in, the last
    password change that succeeded is the one that works, no temp file is left."""
    world.init()
    for i in range(1, 17):
        world.pw_ok("user", "add", "u%02d" % i)
    world.user_with_password("victim", "Hq5-Zebra-Tk8w")  # (the failures may lock victim: not checked)
    world.user_with_password("changer", "Mv8-Loop-Pw-0")
    stop = threading.Event()
    logins = {"runs": 0, "succeeded": 0}
    changes = {"tries": 0, "last": "Mv8-Loop-Pw-0"}

    def failing_logins():
        while not stop.is_set():
            logins["succeeded"] += world.pam("victim", answers=["Wrong-Password-9"], quiet=True).ok
            logins["runs"] += 1

    def password_changes():  # as root: no current password asked
        while not stop.is_set():
            changes["tries"] += 1
            password = "Mv8-Loop-Pw-%d" % changes["tries"]
            if world.pam("changer", "chauthtok", answers=[password, password], quiet=True).ok:
                changes["last"] = password

    loops = [threading.Thread(target=failing_logins), threading.Thread(target=password_changes)]
    for loop in loops:
        loop.start()
    try:
        time.sleep(0.2)
        with ThreadPoolExecutor(max_workers=16) as pool:
            writes = list(pool.map(lambda i: world.pw("passwd", "u%02d" % i, "--stdin", "--no-force-change",
                                                      stdin=lines_of("Zx9-Kite-%d-Qp" % (i * 7919))), range(1, 17)))
    finally:
        stop.set()
        for loop in loops:
            loop.join()
    note("%d failing logins and %d password changes through the module ran alongside the 16 writers"
         % (logins["runs"], changes["tries"]))
    assert logins["runs"] >= 1, "the login loop did not run"
    assert logins["succeeded"] == 0, "%d wrong-password logins succeeded during the writes" % logins["succeeded"]
    for i, write in enumerate(writes, 1):
        assert write.ok, "pwdir passwd u%02d failed:\n%s" % (i, write)
    assert user_lines(world) == 18, "the directory holds %d users, not 18" % user_lines(world)
    world.pw_ok("user", "list")
    for i in range(1, 17):
        world.login_ok("u%02d" % i, "Zx9-Kite-%d-Qp" % (i * 7919), "authenticate", "acct_mgmt")
    assert changes["last"] != "Mv8-Loop-Pw-0", "no password change through the module succeeded during the writes"
    world.login_ok("changer", changes["last"])
    assert not world.path("users+").exists(), "a temp file users+ was left behind"


@pytest.mark.parametrize("fmt", [1, 2], ids=["one-file", "shards"])
def test_killed_writer_leaves_a_whole_file(world, note, fmt):
    """`pwdir user add` on a 20,000-user directory (in format 2: migrated from the same file),
    killed (SIGKILL) 15 times at instants spread over a whole write (also after the rename): the
    directory is always the old or the new one, whole (its trailer right), readable; the next
    write works, keeps every user, mode 600; in format 2 no shard file is left that neither
    `users` nor `users-` names."""
    write_directory_file(world.db, sorted("uid=u%05d\tcn=User %05d" % (i, i) for i in range(20000)))
    if fmt == 2:
        world.pw_ok("migrate")
    world.pw_ok("user", "list")
    start = time.perf_counter()
    world.pw_ok("user", "add", "calibrate")
    took = time.perf_counter() - start
    span = max(0.050, took * 1.5)  # so that the kills land anywhere in a write, a few after its end
    note("format %d: one user add takes %d ms; kills after 0..%d ms" % (fmt, took * 1000, span * 1000))
    old = user_lines(world)
    assert old == 20001, "the directory holds %d users, not 20,001" % old
    kept = {"old": 0, "new": 0}
    for i in range(1, 16):
        delay = span * (i - 1 + random.random()) / 15
        writer = subprocess.Popen([str(world.binaries.pwdir), "user", "add", "k%d" % i], env=world.env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        writer.kill()
        writer.wait()
        result = world.pw("user", "list")
        assert result.ok, "after kill #%d (%.3f s) user list fails:\n%s" % (i, delay, result)
        new = user_lines(world)
        assert new in (old, old + 1), "after kill #%d (%.3f s) the directory holds %d users; expected %d or %d" % (
            i, delay, new, old, old + 1)
        kept["old" if new == old else "new"] += 1
        if fmt == 1:
            trailer = world.snapshot().splitlines()[-1]
            assert trailer == b"#end users=%d" % new, "after kill #%d the trailer is %r" % (i, trailer)
        old = new
    note("format %d, 15 kills: %d left the old directory, %d the new one" % (fmt, kept["old"], kept["new"]))
    world.pw_ok("user", "add", "final")
    assert not world.path("users+").exists(), "users+ left behind after a successful write"
    assert user_lines(world) == old + 1, "the write after the kills lost users"
    assert world.db.stat().st_mode & 0o7777 == 0o600, "the directory is mode %o after the kills" % (world.db.stat().st_mode & 0o7777)
    if fmt == 2:
        named = set(shard_names(world.db)) | set(shard_names(world.path("users-")))
        left = set(os.listdir(str(world.db) + ".d"))
        assert left == named, "shard files left that no version names: %s" % sorted(left - named)[:5]


def test_migrate_turns_one_file_into_shards(world):
    """`pwdir migrate` (root only): a directory of format 1 becomes format 2 in one step, every
    user and password kept, the old file kept as users-; logins work before and after; a second
    run does nothing; a corrupt file is refused (naming its line) and nothing changes; a
    manager through sudo may not migrate; each run is in the audit trail."""
    world.init("--format", "1")
    world.user_with_password("ana", "Right-Password-1")
    world.pw_ok("user", "add", "boss", "--role", "manager")
    world.pw_ok("user", "add", "bob", "--manager", "boss")
    before = json.loads(world.pw_ok("user", "list", "--json").out)["users"]
    old = world.db.read_bytes()
    assert old.startswith(b"pwdir-directory 1\n")
    world.login_ok("ana", "Right-Password-1")
    refused = world.pw("migrate", sudo_user="boss")
    assert not refused.ok and world.db.read_bytes() == old, "a manager migrated the directory"
    said = world.pw_ok("migrate").out
    assert "format 2" in said and "3 users" in said, said
    assert world.db.read_bytes().startswith(b"pwdir-directory 2\n")
    assert world.path("users-").read_bytes() == old, "users- is not the format-1 file"
    assert json.loads(world.pw_ok("user", "list", "--json").out)["users"] == before, "the users changed in the migration"
    world.login_ok("ana", "Right-Password-1")
    assert "nothing to do" in world.pw_ok("migrate").out
    world.pw_ok("passwd", "bob", "--stdin", "--no-force-change", stdin=lines_of("Dn4-Quartz-Vy7p"))
    world.login_ok("bob", "Dn4-Quartz-Vy7p")
    events = [e for e in json.loads(world.pw_ok("log", "--json").out)["events"] if e.get("action") == "migrate"]
    assert [e["result"] for e in events if e["result"] != "pending"] == ["ok", "ok"], events
    # A corrupt format-1 file is refused as every command refuses it; nothing is written.
    broken = world.path("broken")
    broken.mkdir()
    write_directory_file(broken / "users", ["uid=zed", "uid=amy"])
    result = world.expect_clean_error("migrate", "--db", str(broken / "users"))
    assert re.search(r"line 3\b", result.err), result.err
    assert sorted(p.name for p in broken.iterdir()) == ["audit.log", "users", "users.lock"], sorted(p.name for p in broken.iterdir())
