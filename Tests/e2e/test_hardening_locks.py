"""Hardening of the failure tallies (issue 13): a login stopped at its prompt or in its hash holds
up nobody; parallel guesses never check more passwords than deny; a damaged tally means locked
until `pwdir unlock`; a full disk still counts failures and never locks out names pwdir does not
know; clock jumps never make a lock, a recovery code or a temporary password last longer; and
values at the ends of their ranges in a tally leave the host standing.

What is shown here and not in test_login_lockout / test_host_safety: stopped processes, the
in-flight limit, damaged and missing tally files, a full filesystem (a private mount namespace
with a tiny tmpfs), libfaketime on the module's process, hand-written extreme slots."""
import calendar
import json
import os
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

import pwdir_e2e as e2e
from pwdir_e2e import median, ms

UNKNOWN = "User not known to the underlying authentication module"
AUTH_ERR = "pamtester: Authentication failure"
MAXTRIES = "Have exhausted maximum number of retries for service"
PERM_DENIED = "Permission denied"
AUTHINFO_UNAVAIL = "Authentication service cannot retrieve authentication info"
TOO_MANY = "Too many logins to this account are under way"
TRAPS = ("Swift runtime failure", "Fatal error", "Illegal instruction", "Backtracing")
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
YEAR = 365 * 86400
I64_MAX, I64_MIN, U64_MAX, U32_MAX = 2 ** 63 - 1, -2 ** 63, 2 ** 64 - 1, 2 ** 32 - 1
YEAR_9999 = 253_402_300_799  # the last second TallyCodec takes for a time


# ---------------------------------------------------------------------------------------------
# Helpers


def next_second():
    """Sleeps into the next wall-clock second: what is written afterwards is strictly later than
    everything written before (the module compares a damaged tally's mtime with the last reset in
    whole seconds)."""
    time.sleep(1.02 - time.time() % 1)


def refused_as(result: e2e.Run, *answers) -> str:
    """RESULT is a refusal (exit 1, no signal, no trap) with one of ANSWERS; returns the one."""
    assert result.rc == 1, "pamtester exited %s (not a plain refusal):\n%s" % (result.rc, result)
    assert not any(t in result.output for t in TRAPS), "a trap in the host:\n%s" % result
    found = [a for a in answers if a in result.output]
    assert found, "refused, but not with %s:\n%s" % (" or ".join(map(repr, answers)), result)
    return found[0]


def plain_failure(result: e2e.Run) -> bool:
    """A wrong password that was checked: PAM_AUTH_ERR, not an attempt turned away unchecked."""
    return AUTH_ERR in result.output and TOO_MANY not in result.output and MAXTRIES not in result.output


def held_locks(world) -> list:
    """/proc/locks lines on any file of the world (directory, seal, tallies, decoy)."""
    inodes = {p.lstat().st_ino for p in world.folder.rglob("*")}
    held = []
    for line in Path("/proc/locks").read_text().splitlines():
        where = [w for w in line.split() if w.count(":") == 2]
        if where and int(where[0].rsplit(":", 1)[1]) in inodes:
            held.append(line)
    return held


def process_state(pid: int) -> str:
    return Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[0]


def stop(pid: int):
    os.kill(pid, signal.SIGSTOP)
    deadline = time.monotonic() + 5
    while process_state(pid) != "T":
        assert time.monotonic() < deadline, "process %d did not stop" % pid
        time.sleep(0.001)


def stopped_in_hash(world, tally, user: str, password: str):
    """pamtester for USER at a terminal, stopped (SIGSTOP) about 5 ms after PASSWORD is typed:
    in its yescrypt hash, with its attempt counted as in flight (for an account) and no lock
    held. A stop that landed in the few milliseconds of bookkeeping is let go and tried again."""
    for _ in range(8):
        conversation = world.at_terminal(user)
        conversation.answer("Password: ", password)
        time.sleep(0.005)
        stop(conversation.child.pid)
        in_flight = tally.path(user).exists() and tally.in_flight(user)
        if not held_locks(world) and (in_flight or not tally.path(user).exists()):
            return conversation
        os.kill(conversation.child.pid, signal.SIGCONT)
        conversation.finish()
    raise AssertionError("could not stop a login of %s in its hash (8 tries)" % user)


# The logins timed around a stopped one: a root-like name pwdir does not know, another account,
# and the stopped login's own account (its right password).
def timed_logins(world, rounds: int) -> dict:
    times = {"root": [], "bo": [], "ana": []}
    for _ in range(rounds):
        result = world.pam("root", answers=["Root-Password-1"], quiet=True)
        assert not result.ok and UNKNOWN in result.output, "root:\n%s" % result
        times["root"].append(result.seconds)
        result = world.pam("bo", answers=["Right-Password-2"], quiet=True)
        assert result.ok, "bo:\n%s" % result
        times["bo"].append(result.seconds)
        result = world.pam("ana", answers=["Right-Password-1"], quiet=True)
        assert result.ok, "ana:\n%s" % result
        times["ana"].append(result.seconds)
    return {who: median(t) for who, t in times.items()}


def assert_full_speed(world, note, baseline: dict, what: str):
    """While something is stopped, root, bo and ana log in (or are refused) as fast as before:
    each median of 5 within 2x of the baseline (a second round if the first is out, so a burst
    of load is not taken for a wait on the stopped login)."""
    for _ in range(2):
        now = timed_logins(world, 5)
        ratios = {who: now[who] / baseline[who] for who in now}
        note("%s: %s" % (what, ", ".join("%s %s (%s unstopped, x%.2f)" % (who, ms(now[who]), ms(baseline[who]), ratios[who])
                                         for who in now)))
        if max(ratios.values()) <= 2.0:
            return
    raise AssertionError("with %s, logins are slower than 2x their unstopped time: %s" % (what, ratios))


def two_users(world, *conf):
    world.write_conf(*conf)
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    world.user_with_password("bo", "Right-Password-2")


@pytest.fixture
def private_mounts():
    """private_mounts(SETUP, *ARGS): a pwdir_e2e.Namespace in which the shell script SETUP ($1...
    are ARGS) ran first; closed at the end of the test."""
    made = []

    def start(setup, *args):
        made.append(e2e.Namespace())
        made[-1].sh(setup, *map(str, args))
        return made[-1]
    yield start
    for namespace in made:
        namespace.close()


# ---------------------------------------------------------------------------------------------
# 1. A stopped login holds up nobody


def test_login_stopped_at_its_prompt_holds_up_nobody(world, note):
    """A login of ana stopped (SIGSTOP) at `Password: `: root (unknown to pwdir: PAM_USER_UNKNOWN),
    bo and ana herself log in at full speed meanwhile; let go, the stopped login finishes."""
    two_users(world)
    baseline = timed_logins(world, 5)
    conversation = world.at_terminal("ana")
    conversation.child.expect_exact("Password: ")
    stop(conversation.child.pid)
    assert not held_locks(world), "a login at its prompt holds a lock: %s" % held_locks(world)
    assert_full_speed(world, note, baseline, "ana stopped at her prompt")
    os.kill(conversation.child.pid, signal.SIGCONT)
    conversation.child.sendline("Right-Password-1")
    result = conversation.finish()
    assert result.ok, "the login let go after its stop failed:\n%s" % result


def test_login_stopped_in_its_hash_holds_up_nobody(world, tally, note):
    """A login of ana stopped about 5 ms after her password is typed (in the hash, its attempt
    counted as in flight, no lock held): root, bo and ana herself log in at full speed meanwhile,
    and `pwdir unlock ana` is not held up either. When that attempt has been in flight for over
    15 s (aged here in the tally rather than waited for), it counts as a failure: let go, the
    stopped login is refused although its password is right."""
    two_users(world, "deny = 3")
    baseline = timed_logins(world, 5)
    conversation = stopped_in_hash(world, tally, "ana", "Right-Password-1")
    assert len(tally.in_flight("ana")) == 1, "the stopped login's attempt is not in flight: %s" % tally.slot("ana")
    assert_full_speed(world, note, baseline, "ana stopped in her hash")
    unlock = world.pw_ok("unlock", "ana")
    assert unlock.seconds < 1.0, "pwdir unlock waited %s on the stopped login" % ms(unlock.seconds)
    assert len(tally.in_flight("ana")) == 1, "the logins around it lost the stopped attempt: %s" % tally.slot("ana")

    tally.age_in_flight("ana", 60)
    os.kill(conversation.child.pid, signal.SIGCONT)
    result = conversation.finish()
    assert not result.ok, "a login held up more than 15 s in its hash got in:\n%s" % result
    shown = world.show("ana")
    assert shown["failures"] == 1, "the attempt held up more than 15 s is not one failure: %s" % shown
    world.login_ok("ana", "Right-Password-1")


def test_unknown_name_stopped_in_its_hash_holds_up_nobody(world, tally, note):
    """A login of a name pwdir does not know, stopped in its hash (it touched the decoy tally,
    which is never locked): root, bo and ana log in at full speed meanwhile; let go, it is
    PAM_USER_UNKNOWN."""
    two_users(world)
    baseline = timed_logins(world, 5)
    conversation = stopped_in_hash(world, tally, "nosuchuser", "Some-Password-1")
    assert_full_speed(world, note, baseline, "an unknown name stopped in its hash")
    os.kill(conversation.child.pid, signal.SIGCONT)
    result = conversation.finish()
    assert not result.ok and UNKNOWN in result.output, "the unknown name let go:\n%s" % result


def test_attempt_that_ran_out_of_time_locks_like_any_failure(world, tally):
    """deny = 3: two wrong passwords, then a third login killed (SIGKILL) in its hash; once its
    attempt has been in flight for over 15 s (aged in the tally) it is the third failure, and the
    account is locked like after three wrong passwords: user show says so, and the right
    password is refused at once as locked (not after a 5 s wait as 'too many under way')."""
    two_users(world, "deny = 3")
    world.login_refused("ana", "Wrong-Password-1")
    world.login_refused("ana", "Wrong-Password-2")
    conversation = stopped_in_hash(world, tally, "ana", "Wrong-Password-3")
    os.kill(conversation.child.pid, signal.SIGKILL)
    conversation.child.wait()
    tally.age_in_flight("ana", 60)
    shown = world.show("ana")
    assert shown["failures"] == 3, shown
    assert shown["locked"] and shown["lockReason"] == "failures", "3 failures (deny = 3) but not locked: %s" % shown
    result = world.login_refused("ana", "Right-Password-1")
    assert result.seconds < 2.0, "the refusal took %s" % ms(result.seconds)
    refused_as(result, MAXTRIES)


# ---------------------------------------------------------------------------------------------
# 2. Parallel guesses never check more passwords than deny


def test_parallel_wrong_passwords_check_at_most_deny(world, note):
    """20 wrong passwords at once against one account (deny = 3): all refused; exactly 3 were
    checked (PAM_AUTH_ERR, 3 failures counted), the 17 others were turned away unchecked as
    locked; the account is locked afterwards."""
    two_users(world, "deny = 3")
    start = time.monotonic()
    results = world.pam_parallel([("ana", ["Wrong-Password-%d" % i]) for i in range(20)])
    took = time.monotonic() - start
    assert not [r for r in results if r.ok], "a wrong password got in"
    checked = [r for r in results if plain_failure(r)]
    locked = [r for r in results if MAXTRIES in r.output]
    note("20 parallel wrong passwords in %s: %d checked, %d refused as locked, %d other"
         % (ms(took), len(checked), len(locked), 20 - len(checked) - len(locked)))
    assert len(checked) == 3, "%d of 20 parallel wrong passwords were checked (deny = 3)" % len(checked)
    assert len(locked) == 17, "not every other attempt was refused as locked:\n%s" % [
        r for r in results if not plain_failure(r) and MAXTRIES not in r.output][:1]
    shown = world.show("ana")
    assert shown["failures"] == 3 and shown["locked"] and shown["lockReason"] == "failures", shown


def test_right_password_among_parallel_wrong_ones(world, note):
    """deny = 3 with 2 failures already counted, then 8 wrong passwords and the right one at
    once, 6 rounds: one attempt is in flight at a time, so either the right one went first (it
    logs in, and exactly 3 wrong ones are checked after it) or a wrong one did (1 checked, the
    lock turns away everything else, the right password too). Never more."""
    two_users(world, "deny = 3")
    outcomes = {"right first": 0, "wrong first": 0}
    for round_ in range(6):
        world.pw_ok("unlock", "ana")
        world.login_refused("ana", "Wrong-Password-a")
        world.login_refused("ana", "Wrong-Password-b")
        calls = [("ana", ["Wrong-Password-%d" % i]) for i in range(8)]
        calls.insert(round_ % 9, ("ana", ["Right-Password-1"]))
        results = world.pam_parallel(calls)
        right = results[round_ % 9]
        wrong = [r for i, r in enumerate(results) if i != round_ % 9]
        assert not [r for r in wrong if r.ok], "a wrong password got in"
        checked = sum(plain_failure(r) for r in wrong)
        if right.ok:
            outcomes["right first"] += 1
            assert checked == 3, "the right password got in, and %d wrong ones were checked (deny = 3)" % checked
        else:
            outcomes["wrong first"] += 1
            refused_as(right, MAXTRIES)
            assert checked == 1, "the right password was refused, and %d wrong ones were checked (2 failures, deny = 3)" % checked
        shown = world.show("ana")
        assert shown["failures"] == 3 and shown["locked"], "round %d: %s" % (round_, shown)
    note("right password among 8 wrong ones, 6 rounds: %s" % outcomes)


def test_unlock_and_lock_while_a_login_is_at_its_prompt(world):
    """What an administrator does while a login waits at `Password: ` counts for that login:
    `pwdir unlock` of a failure-locked account lets it in, `pwdir lock` refuses it
    (PAM_PERM_DENIED), a second `pwdir unlock` lets the next one in (authenticate and acct_mgmt)."""
    two_users(world, "deny = 3")
    for n in (1, 2, 3):
        world.login_refused("ana", "Wrong-Password-%d" % n)
    world.login_refused("ana", "Right-Password-1")

    conversation = world.at_terminal("ana", "authenticate", "acct_mgmt")
    conversation.child.expect_exact("Password: ")
    world.pw_ok("unlock", "ana")
    conversation.child.sendline("Right-Password-1")
    result = conversation.finish()
    assert result.ok, "unlocked while at the prompt, the login was refused:\n%s" % result

    conversation = world.at_terminal("ana", "authenticate", "acct_mgmt")
    conversation.child.expect_exact("Password: ")
    world.pw_ok("lock", "ana")
    conversation.child.sendline("Right-Password-1")
    result = conversation.finish()
    assert not result.ok and PERM_DENIED in result.output, "locked while at the prompt, the login was not refused:\n%s" % result

    conversation = world.at_terminal("ana", "authenticate", "acct_mgmt")
    conversation.child.expect_exact("Password: ")
    world.pw_ok("unlock", "ana")
    conversation.child.sendline("Right-Password-1")
    result = conversation.finish()
    assert result.ok, "unlocked again while at the prompt, the login was refused:\n%s" % result


# ---------------------------------------------------------------------------------------------
# 3. A damaged tally means locked


def flip_both_slots(path: Path):
    data = bytearray(path.read_bytes())
    for offset in (16 + 100, 2056 + 100):
        data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def replace_with_copy(path: Path, good: Path, mode: int):
    path.unlink()
    path.write_bytes(good.read_bytes())
    path.chmod(mode)


DAMAGE = {
    "symlink to an unlocked tally": lambda path, good: (path.unlink(), path.symlink_to(good)),
    "mode 0666 copy of an unlocked tally": lambda path, good: replace_with_copy(path, good, 0o666),
    "truncated": lambda path, good: os.truncate(path, 2000),
    "extra bytes": lambda path, good: path.open("ab").write(b"\0"),
    "one bit flipped in each slot": lambda path, good: flip_both_slots(path),
    "FIFO": lambda path, good: (path.unlink(), os.mkfifo(path, 0o600)),
    "folder": lambda path, good: (path.unlink(), path.mkdir(mode=0o700)),
}


def damaged_locked_account(world, tally, damage: str):
    """ana locked by 3 wrong passwords (deny = 3), then her tally replaced as DAMAGE says, a
    second after the last reset (so the module cannot take it for an unlock cut short). Returns
    the lstat of what is there now."""
    two_users(world, "deny = 3")
    for n in (1, 2, 3):
        world.login_refused("ana", "Wrong-Password-%d" % n)
    assert world.show("ana")["locked"], "3 wrong passwords did not lock ana"
    good = world.path("unlocked-tally")
    good.write_bytes(tally.path("bo").read_bytes())
    good.chmod(0o600)
    next_second()
    DAMAGE[damage](tally.path("ana"), good)
    return tally.path("ana").lstat()


def same_object(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_ino, a.st_mode, a.st_size, a.st_mtime_ns) == (b.st_ino, b.st_mode, b.st_size, b.st_mtime_ns)


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_tally_means_locked(world, tally, damage):
    """A failure-locked account whose tally is DAMAGE: the right password is refused by
    authenticate and by acct_mgmt; a wrong one does not make a fresh tally (what is there stays
    as it was); `user show` says locked, with the damage; `pwdir unlock` makes a new tally
    (except for a folder: see the next test) and ana logs in again."""
    before = damaged_locked_account(world, tally, damage)
    refused_as(world.pam("ana", answers=["Right-Password-1"]), MAXTRIES, AUTHINFO_UNAVAIL)
    refused_as(world.pam("ana", "acct_mgmt", answers=[]), PERM_DENIED, AUTHINFO_UNAVAIL)
    refused_as(world.pam("ana", answers=["Wrong-Password-4"]), MAXTRIES, AUTHINFO_UNAVAIL)
    assert same_object(before, tally.path("ana").lstat()), "a login replaced the damaged tally (%s)" % damage
    shown = world.show("ana")
    assert shown["locked"] and not shown["usable"] and shown["lockReason"] == "damaged-tally", shown
    assert shown.get("tallyDamage"), "user show does not say what is wrong with the tally: %s" % shown
    if damage == "folder":
        return
    said = world.pw_ok("unlock", "ana").out
    assert "damaged failure tally replaced" in said, "unlock does not say it replaced the tally: %s" % said
    st = tally.path("ana").lstat()
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == 4096, st
    world.login_ok("ana", "Right-Password-1", "authenticate", "acct_mgmt")


def test_unlock_replaces_a_tally_that_is_a_folder(world, tally):
    """A failure-locked account whose tally is an (empty) folder: `pwdir unlock` makes a new
    tally and ana logs in again."""
    damaged_locked_account(world, tally, "folder")
    world.pw_ok("unlock", "ana")
    world.login_ok("ana", "Right-Password-1", "authenticate", "acct_mgmt")


def test_damage_in_the_second_of_an_unlock_still_locks(world, tally):
    """`pwdir unlock`, 3 wrong passwords and the tally truncated, all in the same wall-clock
    second: the right password is still refused (the damage came after the unlock, which
    finished whole)."""
    two_users(world, "deny = 3")
    for _ in range(3):
        next_second()
        world.pw_ok("unlock", "ana")
        second = int(time.time())
        for n in (1, 2, 3):
            world.login_refused("ana", "Wrong-Password-%d" % n)
        os.truncate(tally.path("ana"), 2000)
        if int(tally.path("ana").stat().st_mtime) == second:
            break
    else:
        pytest.skip("could not fit an unlock, 3 logins and the damage in one second")
    world.login_refused("ana", "Right-Password-1")


def test_missing_tally_counts_as_no_failures(world, tally):
    """An account whose tally was never made (removed here) has no failures yet: `user show`
    says usable with 0 failures (no damage), the right password logs in, and that login makes a
    new tally (root's, 0600, 4096 bytes), which counts from zero: 3 wrong passwords lock it.
    Removing the tally of a failure-locked account (root's doing) therefore lifts that lock, as
    removing pam_faillock's file does."""
    two_users(world, "deny = 3")
    tally.path("ana").unlink()
    shown = world.show("ana")
    assert shown["usable"] and shown["failures"] == 0 and not shown.get("tallyDamage"), shown
    assert not tally.path("ana").exists(), "user show made a tally"
    world.login_ok("ana", "Right-Password-1", "authenticate", "acct_mgmt")
    st = tally.path("ana").lstat()
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == 4096 and st.st_uid == 0, st
    for n in (1, 2, 3):
        world.login_refused("ana", "Wrong-Password-%d" % n)
    refused_as(world.pam("ana", answers=["Right-Password-1"]), MAXTRIES)
    tally.path("ana").unlink()
    world.login_ok("ana", "Right-Password-1")


# ---------------------------------------------------------------------------------------------
# 4. A full disk


FILL = ('dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null; i=0; while touch "$1/inode.$i" 2>/dev/null; '
        'do i=$((i+1)); done; stat -f -c "%a %f %d" "$1"')


def full_disk_world(world, private_mounts, *users, without_tally=(), before_fill=None):
    """The world's directory on a 256 KiB tmpfs with 32 inodes, in a private mount namespace:
    init, USERS with passwords (deny = 3), the decoy tally and those of WITHOUT_TALLY removed,
    BEFORE_FILL(namespace) if given, then the filesystem filled (blocks, then inodes). Returns
    the namespace."""
    full = world.path("full")
    full.mkdir()
    namespace = private_mounts('mount -t tmpfs -o size=256k,nr_inodes=32,mode=0700 pwdir-full "$1"', full)
    world.use_directory(full / "users")
    world.write_conf("deny = 3")
    # Format 1: the 256 shard files of format 2 would not fit in 32 inodes.
    assert namespace.run([world.binaries.pwdir, "init", "--format", "1"], world.env).ok
    for user, password in users:
        assert namespace.run([world.binaries.pwdir, "user", "add", user], world.env).ok
        assert namespace.run([world.binaries.pwdir, "passwd", user, "--stdin", "--no-force-change"], world.env,
                             stdin=password + "\n").ok
    assert namespace.run(["rm", *(full / "users.tally" / name for name in (".decoy", *without_tally))], world.env).ok
    if before_fill is not None:
        before_fill(namespace)
    filled = namespace.run(["sh", "-c", FILL, "sh", full], world.env)
    assert filled.out.split() == ["0", "0", "0"], "the filesystem is not full (free blocks, inodes): %s" % filled.out
    # the stack a host uses (README), with pam_permit standing in for pam_unix below it
    world.write_service_lines("stack", [
        "auth [success=done new_authtok_reqd=done user_unknown=ignore default=die] %s %s"
        % (world.binaries.module, world.module_args()),
        "auth required pam_permit.so"])
    return namespace


def test_full_disk_counts_every_failure_and_spares_unknown_names(world, private_mounts, note):
    """On a full filesystem (no block, no inode left, the decoy tally gone too): 7 wrong
    passwords, the first 3 checked and counted, the 4th to 7th refused as locked; the right
    password refused after; `user show` says locked after 3. root and a name pwdir does not know
    are PAM_USER_UNKNOWN, so a stack goes on below pwdir (root gets in through the module under
    it), while ana is stopped there."""
    namespace = full_disk_world(world, private_mounts, ("ana", "Right-Password-1"))
    env = world.pam_env()
    answers = []
    for n in range(1, 8):
        result = namespace.run(["pamtester", world.service, "ana", "authenticate"], env, stdin="Wrong-Password-%d\n" % n)
        answers.append(refused_as(result, AUTH_ERR if n <= 3 else MAXTRIES))
    note("full disk, 7 wrong passwords: %d checked and counted, %d refused as locked"
         % (answers.count(AUTH_ERR), answers.count(MAXTRIES)))
    refused_as(namespace.run(["pamtester", world.service, "ana", "authenticate"], env, stdin="Right-Password-1\n"), MAXTRIES)
    shown = json.loads(namespace.run([world.binaries.pwdir, "user", "show", "ana", "--json"], world.env).out)
    assert shown["failures"] == 3 and shown["locked"] and shown["lockReason"] == "failures", shown
    for name in ("root", "nosuchuser"):
        refused_as(namespace.run(["pamtester", world.service, name, "authenticate"], env, stdin="Any-Password-1\n"), UNKNOWN)
    assert namespace.run(["pamtester", "stack", "root", "authenticate"], env, stdin="Root-Password-1\n").ok, \
        "root did not get through the stack on a full disk"
    assert not namespace.run(["pamtester", "stack", "ana", "authenticate"], env, stdin="Right-Password-1\n").ok, \
        "locked ana got through the stack on a full disk"


def test_full_disk_user_without_a_tally_fails_closed(world, private_mounts):
    """On a full filesystem, bo (in the directory, his tally never made: removed before the disk
    filled) is refused with PAM_AUTHINFO_UNAVAIL, not passed on as unknown; through the stack
    he does not get in."""
    namespace = full_disk_world(world, private_mounts, ("ana", "Right-Password-1"), ("bo", "Right-Password-2"),
                                without_tally=["bo"])
    env = world.pam_env()
    refused_as(namespace.run(["pamtester", world.service, "bo", "authenticate"], env, stdin="Right-Password-2\n"), AUTHINFO_UNAVAIL)
    assert not namespace.run(["pamtester", "stack", "bo", "authenticate"], env, stdin="Any-Password-1\n").ok, \
        "bo, an account of the directory, got through the stack with any password"


# ---------------------------------------------------------------------------------------------
# 5. Clock jumps (libfaketime on the module's process)


@pytest.fixture
def faketime(world, private_mounts):
    """faketime(OFFSET, USER, *OPS, answers=[...]): pamtester under libfaketime (FAKETIME=OFFSET
    for the wall clock only, as a clock jump moves it), in a private mount namespace whose
    /dev/shm is its own (libfaketime keeps files there)."""
    if not os.path.exists(FAKETIME_LIB):
        pytest.skip("libfaketime is not installed (Debian package faketime)")
    namespace = private_mounts("mount -t tmpfs -o size=1m,mode=1777 pwdir-shm /dev/shm")

    def run(offset, user, *ops, answers=()):
        env = dict(world.pam_env(FAKETIME=offset, FAKETIME_DONT_FAKE_MONOTONIC="1", DONT_FAKE_MONOTONIC="1"),
                   LD_PRELOAD="libpam_wrapper.so " + FAKETIME_LIB)
        return namespace.run(["pamtester", world.service, user, *(ops or ["authenticate"])], env, stdin=e2e.lines_of(*answers))
    run.namespace = namespace
    return run


def test_failure_lock_made_ten_years_ahead(world, tally, faketime, note):
    """3 wrong passwords with the module's clock 10 years ahead lock ana (deny = 3,
    unlock_time = 2; the lock is stamped 10 years ahead: libfaketime reaches the module's clock).
    With the clock back, that stamp counts as now: user show says locked until at most 2 s from
    now, the right password is refused once, and 2 s later it logs in, not 10 years later."""
    two_users(world, "deny = 3", "unlock_time = 2")
    for n in (1, 2, 3):
        refused_as(faketime("+10y", "ana", answers=["Wrong-Password-%d" % n]), AUTH_ERR)
    ahead = faketime("+10y", "ana", answers=["Right-Password-1"])
    refused_as(ahead, MAXTRIES)
    stamped = tally.slot("ana")["locked"]
    assert stamped > time.time() + 9 * YEAR, \
        "the lock is not stamped 10 years ahead (%d): libfaketime did not reach the module" % stamped
    shown = world.show("ana")
    until = calendar.timegm(time.strptime(shown["lockedUntil"], "%Y-%m-%dT%H:%M:%SZ"))
    assert shown["locked"] and until <= time.time() + 3, "with the clock back, the lock lasts until %s" % shown["lockedUntil"]
    refused_as(world.pam("ana", answers=["Right-Password-1"]), MAXTRIES)
    time.sleep(2.2)
    world.login_ok("ana", "Right-Password-1")
    note("lock stamped %d s ahead; with the clock back it lasted unlock_time (2 s) from the first login after"
         % (stamped - time.time()))


def test_recovery_code_from_the_future_is_never_valid(recovery_world, mailbox, tally, faketime):
    """A recovery code stamped later than the module's clock is valid for none of recovery_ttl:
    made at the real time and typed at a module whose clock is 10 years behind, it is refused.
    A code whose stamps are 10 years ahead (made while the clock was ahead) does not hold back a
    new one either: `pwdir recover` mails the next code (no 10-year recovery_interval), which
    works."""
    world = recovery_world
    world.recovery_conf("deny = 50")
    world.init()
    world.user_with_password("ana", "Right-Password-1", "--email", "ana@corp.example", "--recovery-email", "ana@home.example")
    world.pw_ok("recover", "ana")
    code = mailbox.next_code("ana@home.example", 1)
    # the module's request helper runs on the real clock: rate-limited by this code, it leaves it be
    result = faketime("-10y", "ana", answers=["", code, "Never-Used-Pass-77", "Never-Used-Pass-77"])
    assert not result.ok and "recovery code is wrong, used up or expired" in result.output, \
        "a code stamped 10 years after the module's clock was taken:\n%s" % result
    world.wait_for_helpers(5)
    assert world.try_code("ana", code, "Recovered-Pass-66").ok, "the same code failed at the real clock"
    world.secret("Recovered-Pass-66")
    world.wait_for_helpers(5)

    world.pw_ok("recover", "ana")
    code = mailbox.next_code("ana@home.example", 2)
    fields = tally.fields("ana")
    tally.set_fields("ana", codeSent=int(fields["codeSent"]) + 10 * YEAR, codeExpires=int(fields["codeExpires"]) + 10 * YEAR)
    world.pw_ok("recover", "ana")  # recovery_interval (300 s) is not counted from a send time 10 years ahead
    code = mailbox.next_code("ana@home.example", 3)
    result = world.try_code("ana", code, "Recovered-Pass-77")
    world.secret("Recovered-Pass-77")
    assert result.ok, "the code made after one from the future did not work:\n%s" % result
    world.wait_for_helpers(5)


def test_temporary_password_set_in_the_modules_future(world, faketime):
    """A temporary password (temp_ttl = 3 days) works with the module's clock 1 hour on and is
    refused as expired 4 days on (libfaketime reaches the module); seen from a clock 10 years
    behind (the password was set 10 years in its future) it is expired too, never valid for
    10 years and 3 days."""
    world.init()
    world.pw_ok("user", "add", "ana")
    world.pw_ok("passwd", "ana", "--stdin", stdin="Temporary-Pass-1\n")
    world.secret("Temporary-Pass-1")
    assert faketime("+1h", "ana", answers=["Temporary-Pass-1"]).ok, "the temporary password failed 1 hour on"
    expired = "Your temporary password has expired"
    result = faketime("+4d", "ana", answers=["Temporary-Pass-1"])
    assert not result.ok and expired in result.output, "4 days on (temp_ttl 3 days):\n%s" % result
    result = faketime("-10y", "ana", answers=["Temporary-Pass-1"])
    assert not result.ok and expired in result.output, "10 years behind its setting:\n%s" % result
    world.login_ok("ana", "Temporary-Pass-1")


def test_command_with_no_arguments_visible_does_not_trap(world, faketime):
    """`pwdir user show ana` run where Swift sees no command line (under libfaketime) exits
    with an error or the usage, not with a trap."""
    world.init()
    env = dict(world.env, LD_PRELOAD=FAKETIME_LIB, FAKETIME="+0", FAKETIME_DONT_FAKE_MONOTONIC="1")
    result = faketime.namespace.run([world.binaries.pwdir, "user", "show", "ana"], env)
    assert 0 <= result.rc < 128 and not any(t in result.output for t in TRAPS), str(result)


# ---------------------------------------------------------------------------------------------
# 6. Values at the ends of their ranges


def slot_of(**values):
    """A slot of sequence 5 holding VALUES (Tally.encode_slot), made once the test knows the
    time (`now`) and the account's reset generation (`generation`, unless VALUES give one)."""
    def make(tally, now, generation):
        given = {k: (now if v == "now" else v) for k, v in values.items()}
        given.setdefault("generation", generation)
        given["attempts"] = [tuple(now if x == "now" else x for x in a) for a in given.get("attempts", ())]
        return tally.encode_slot(5, **given)
    return make


CODE = {"hash": "$y$j9T$abcdefghijklmnop$" + "A" * 43}

# Values at the ends of their fields, each slot with a right checksum: out of the codec's range
# (damage: locked until unlock) or in it (a lock that must hold, whatever the arithmetic).
EXTREMES = {
    "lock time i64 max": slot_of(locked=I64_MAX),
    "lock time i64 min": slot_of(locked=I64_MIN),
    "failure times i64 max": slot_of(attempts=[(I64_MAX, 0)] * 3),
    "failure times i64 min": slot_of(attempts=[(I64_MIN, 0)] * 3),
    "attempt count u16 max": slot_of(count=0xFFFF),
    "overflow u32 max at i64 max": slot_of(overflow=U32_MAX, overflow_newest=I64_MAX),
    "recovery times i64 min and max": slot_of(recovery=dict(CODE, sent=I64_MIN, expires=I64_MAX, tries=255,
                                                            claimNonce=U64_MAX, claimTime=I64_MAX)),
    "lock and 64 failures at 9999": slot_of(locked=YEAR_9999, attempts=[(YEAR_9999, 0)] * 64),
    "overflow u32 max at 9999": slot_of(locked="now", overflow=U32_MAX, overflow_newest=YEAR_9999),
    "generation u64 max": slot_of(locked="now", attempts=[("now", 0)] * 3, generation=U64_MAX),
    "63 in flight, nonce u64 max, at 9999": slot_of(locked="now", attempts=[(YEAR_9999, U64_MAX)] * 63 + [(1, 0)]),
}


@pytest.mark.parametrize("case", list(EXTREMES))
def test_extreme_tally_values_leave_the_host_standing(world, tally, case):
    """ana's tally holds CASE (a correctly checksummed slot; settings at their ends too: deny
    1000, unlock_time and fail_interval 10 years): pamtester refuses her right password and
    acct_mgmt refuses her, each exiting normally (no trap, no signal); `user show` works and
    says locked; `pwdir unlock` brings her back."""
    world.write_conf("deny = 1000", "unlock_time = %d" % (10 * YEAR), "fail_interval = %d" % (10 * YEAR))
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    world.login_ok("ana", "Right-Password-1")  # the tally catches up with the reset generation of her new password
    generation = tally.slot("ana")["generation"]
    next_second()
    tally.write("ana", EXTREMES[case](tally, int(time.time()), generation))
    refused_as(world.pam("ana", answers=["Right-Password-1"]), MAXTRIES)
    refused_as(world.pam("ana", "acct_mgmt", answers=[]), PERM_DENIED)
    shown = world.pw("user", "show", "ana", "--json")
    assert shown.ok and not any(t in shown.output for t in TRAPS), str(shown)
    assert json.loads(shown.out)["locked"], shown.out
    world.pw_ok("unlock", "ana")
    world.login_ok("ana", "Right-Password-1", "authenticate", "acct_mgmt")


def test_sequence_numbers_at_the_top_keep_counting(world, tally):
    """A tally whose two slots carry the sequence numbers u64 max - 1 and u64 max (valid
    checksums): the right password logs in, and 3 wrong ones lock (deny = 3)."""
    two_users(world, "deny = 3")
    world.login_ok("ana", "Right-Password-1")  # the tally catches up with the reset generation of her new password
    generation = tally.slot("ana")["generation"]
    next_second()
    tally.write("ana", tally.encode_slot(U64_MAX - 1, generation=generation), tally.encode_slot(U64_MAX, generation=generation))
    world.login_ok("ana", "Right-Password-1")
    for n in (1, 2, 3):
        world.login_refused("ana", "Wrong-Password-%d" % n)
    shown = world.show("ana")
    assert shown["failures"] == 3 and shown["locked"], shown


def test_new_password_lifts_a_lock_after_the_directory_is_restored(world, tally):
    """The directory (`users` and its shards, `users.d/`) restored from a backup made before two
    unlocks (the tallies stay, so their reset generation is ahead of the directory's); ana
    locked by 3 wrong passwords; an administrator's new password lifts the lock, as it says it
    does."""
    two_users(world, "deny = 3")
    backup = world.path("users.backup")
    backup.write_bytes(world.db.read_bytes())
    shards = Path(str(world.db) + ".d")
    shutil.copytree(shards, world.path("users.d.backup"), symlinks=True)
    world.pw_ok("unlock", "ana")
    world.pw_ok("unlock", "ana")
    shutil.rmtree(shards)
    shutil.copytree(world.path("users.d.backup"), shards, symlinks=True)
    temp = Path(str(world.db) + ".restore")
    temp.write_bytes(backup.read_bytes())
    temp.chmod(0o600)
    os.rename(temp, world.db)
    for n in (1, 2, 3):
        world.login_refused("ana", "Wrong-Password-%d" % n)
    said = world.pw_ok("passwd", "ana", "--stdin", "--no-force-change", stdin="New-Password-22\n").out
    world.secret("New-Password-22")
    assert "lock from failed logins is lifted" in said, said
    world.login_ok("ana", "New-Password-22", "authenticate", "acct_mgmt")
