"""Hostile inputs around pwdir's files and its host process:

- a FIFO, a symbolic link, a file of another owner or one others may write, put where the
  settings, the directory, the audit trail, a failure tally or the writers' lock file belong:
  every hook and every command that reads it answers at once (no hang) and fails closed with
  one clear line, and the planted thing is left exactly as it was;
- the Swift runtime's SWIFT_* variables in a host's environment change nothing in the host;
  the module's and the command's syslog lines reach a real /dev/log as plain text;
- what is left of the passwords in a host's memory after pam_end;
- `pwdir` killed (SIGKILL) at every write, rename and fsync of a change, and an fsync error
  after the rename: the change happened whole or not at all, and the audit trail knows it.

Run as root. Besides the suite's tools: strace (Debian strace) for the kill points, unshare and
mount (util-linux, mount) for the private /dev with a real /dev/log; nothing is made in the real
/dev. memory_host.c is compiled here (cc -lpam).
"""
import json
import os
import re
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from pwdir_e2e import Run, assert_one_error_line, lines_of, run, syslog_lines

PASSWORD = "Right-Password-1"
QUICK = 2.0  # seconds: a refusal must come at once, never after a timeout
HANG = 15  # seconds after which a command or pamtester that has not ended is a hang (killed, failed)


@pytest.fixture(autouse=True)
def remove_planted_audit_trail(world):
    """After each test, an audit.log this file planted (not a regular file, others may write it,
    not root's) goes: other tests scan every audit trail of the run for their modes and secrets."""
    yield
    path = world.path("audit.log")
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o022 or info.st_uid != 0:
        path.unlink()


# ---------------------------------------------------------------------------------------------
# 1. FIFOs, symbolic links, other owners and modes where pwdir's files belong


def planted_path(world, which: str) -> Path:
    return {"settings": world.conf, "directory": world.db, "audit": world.path("audit.log"),
            "tally": Path(str(world.db) + ".tally") / "ana", "lock": world.path("users.lock")}[which]


OTHERS_WRITE = {"settings": 0o646, "directory": 0o606, "audit": 0o622, "tally": 0o640, "lock": 0o666}


class Held:
    """FIFOs the test holds open (read-write, so that a program's open succeeds at once and its
    read would wait for data that never comes); at the end, each must have received nothing."""

    def __init__(self):
        self.fds = {}

    def hold(self, path: Path):
        self.fds[path] = os.open(path, os.O_RDWR | os.O_NONBLOCK)

    def assert_nothing_written(self):
        for path, fd in self.fds.items():
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                data = b""
            assert data == b"", "%r was written into the FIFO %s" % (data[:200], path)

    def close(self):
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()


@pytest.fixture
def held():
    holder = Held()
    yield holder
    holder.close()


def plant(world, which: str, kind: str, held: Held) -> Path:
    """Puts KIND where WHICH belongs: "fifo" (no one at the other end: an open without O_NONBLOCK
    would wait for one), "fifo-held" (held open by the test: an open succeeds, a read would wait),
    "symlink" (to a copy of what was there, so that following it would work), "owner" (uid 4321)
    or "mode" (others may write; for a tally, any group or other bit). Returns the path. A planted
    tally is dated after the last reset, so the module does not take it for the leftover of an
    interrupted unlock (which it replaces)."""
    path = planted_path(world, which)
    if kind.startswith("fifo"):
        path.unlink()
        os.mkfifo(path, 0o600)
        if kind == "fifo-held":
            held.hold(path)
    elif kind == "symlink":
        real = world.path("real-" + path.name)
        shutil.copy2(path, real)
        path.unlink()
        os.symlink(real, path)
    elif kind == "owner":
        os.chown(path, 4321, 4321)
    else:
        path.chmod(OTHERS_WRITE[which])
    if which == "tally":
        later = (time.time_ns() // 10**9 + 5) * 10**9
        os.utime(path, ns=(later, later), follow_symlinks=False)
    return path


def fingerprint(path: Path):
    """What a planted thing is: its lstat, its bytes when a regular file, its link and the
    target's bytes and inode when a symbolic link."""
    st = os.lstat(path)
    seen = [stat.S_IFMT(st.st_mode), st.st_mode, st.st_ino, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns]
    if stat.S_ISREG(st.st_mode):
        seen.append(path.read_bytes())
    if stat.S_ISLNK(st.st_mode):
        target = Path(os.readlink(path))
        tst = os.lstat(target)
        seen += [str(target), tst.st_ino, tst.st_mode, tst.st_mtime_ns, target.read_bytes()]
    return seen


def reason_for(kind: str) -> str:
    return {"fifo": "not a regular file", "fifo-held": "not a regular file", "symlink": "symbolic link", "owner": "uid 4321",
            "mode": r"(others may write|mode is 640)"}[kind]


def hardening_world(world):
    """ana (password PASSWORD, a tally), settings, an audit trail: every file exists."""
    world.write_conf("deny = 5")
    world.init()
    world.user_with_password("ana", PASSWORD)
    world.pam("ana", answers=["Wrong-Password-0"])  # a tally with one failure, the audit trail written
    return world


def quick_pw(world, *args, stdin=None) -> Run:
    """`pwdir ARGS`, a hang cut after HANG seconds (the error says so)."""
    try:
        return run([world.binaries.pwdir, *args], env=world.env, stdin=stdin, timeout=HANG)
    except subprocess.TimeoutExpired:
        raise AssertionError("pwdir %s hung (killed after %d s)" % (" ".join(args), HANG)) from None


def quick_pam(world, op: str, answers) -> Run:
    """pamtester OP for ana with pam_wrapper's debug output (the module's syslog lines), a hang
    cut after HANG seconds."""
    try:
        return run(["pamtester", world.service, "ana", op], env=world.pam_env(PAM_WRAPPER_DEBUGLEVEL="4"),
                   stdin=lines_of(*answers), timeout=HANG)
    except subprocess.TimeoutExpired:
        raise AssertionError("pamtester %s hung (killed after %d s)" % (op, HANG)) from None


def expect_quick_refusal(world, args, path: Path, kind: str, stdin=None):
    """`pwdir ARGS` fails at once with one line naming PATH and why."""
    result = quick_pw(world, *args, stdin=stdin)
    assert not result.ok, "pwdir %s succeeded with a %s at %s:\n%s" % (" ".join(args), kind, path, result)
    assert_one_error_line(result)
    assert str(path) in result.err and re.search(reason_for(kind), result.err), \
        "pwdir %s: the error does not name %s and why:\n%s" % (" ".join(args), path, result)
    assert result.seconds < QUICK, "pwdir %s took %.1f s" % (" ".join(args), result.seconds)


def hook(world, op: str, kind: str, path: Path, *, refused=True, password=PASSWORD):
    """pamtester OP (authenticate, acct_mgmt or chauthtok) with pam_wrapper's debug output: it
    answers at once; REFUSED: it fails, and a syslog line names PATH. Returns the Run."""
    answers = {"authenticate": [password], "acct_mgmt": [], "chauthtok": ["Brand-New-Pass-71"] * 2}[op]
    result = quick_pam(world, op, answers)
    assert result.seconds < QUICK, "%s took %.1f s with a %s at %s" % (op, result.seconds, kind, path)
    if refused:
        assert not result.ok, "%s succeeded with a %s at %s:\n%s" % (op, kind, path, result)
        # a tally is named by its account ("the failure tally of ana"), every other file by its path
        names = (lambda line: "tally" in line and "ana" in line) if path.parent.name.endswith(".tally") else \
            (lambda line: str(path) in line)
        named = [line for line in syslog_lines(result) if names(line)]
        assert named, "%s: no syslog line names %s:\n%s" % (op, path, "\n".join(syslog_lines(result)))
        assert all(re.search(reason_for(kind), line) or "cannot" in line for line in named), \
            "%s: the syslog lines naming %s do not say why: %s" % (op, path, named)
    return result


EVERY_COMMAND = [["user", "list"], ["user", "show", "ana"], ["user", "find", "ana"], ["lock", "ana"], ["unlock", "ana"],
                 ["user", "add", "bob"], ["user", "modify", "ana", "--full-name", "X"], ["passwd", "ana", "--generate"]]
WRITERS = [["lock", "ana"], ["unlock", "ana"], ["user", "add", "bob"], ["passwd", "ana", "--generate"]]
KINDS = ["fifo", "fifo-held", "symlink", "owner", "mode"]


@pytest.mark.parametrize("kind", KINDS)
def test_settings_planted(world, held, kind):
    """A FIFO, a symlink, another owner's or an others-writable file at the settings path: every
    command (also `pwdir log` and `passwd --stdin`) and every hook refuses at once with one
    line naming the file and why; nothing is read through the link; the thing stays as it was."""
    hardening_world(world)
    before_db = world.snapshot()
    path = plant(world, "settings", kind, held)
    planted = fingerprint(path)
    for args in EVERY_COMMAND + [["log"]]:
        expect_quick_refusal(world, args, path, kind)
    expect_quick_refusal(world, ["passwd", "ana", "--stdin", "--allow-weak"], path, kind, stdin=lines_of("Piped-Pass-123"))
    for op in ("authenticate", "acct_mgmt", "chauthtok"):
        hook(world, op, kind, path)
    assert fingerprint(path) == planted, "the planted %s at %s changed" % (kind, path)
    held.assert_nothing_written()
    world.assert_unchanged(before_db, "refusals over the settings")


@pytest.mark.parametrize("kind", KINDS)
def test_directory_planted(world, held, kind):
    """The same at the directory path: every command (init says it exists) and every hook."""
    hardening_world(world)
    path = plant(world, "directory", kind, held)
    planted = fingerprint(path)
    for args in EVERY_COMMAND:
        expect_quick_refusal(world, args, path, kind)
    expect_quick_refusal(world, ["passwd", "ana", "--stdin", "--allow-weak"], path, kind, stdin=lines_of("Piped-Pass-123"))
    result = quick_pw(world, "init")
    assert not result.ok and str(path) in result.err, "init over a %s at the directory path:\n%s" % (kind, result)
    assert_one_error_line(result)
    for op in ("authenticate", "acct_mgmt", "chauthtok"):
        hook(world, op, kind, path)
    assert fingerprint(path) == planted, "the planted %s at %s changed" % (kind, path)
    held.assert_nothing_written()
    assert not world.path("users+").exists(), "a temp file was left beside the directory"


@pytest.mark.parametrize("kind", KINDS)
def test_audit_trail_planted(world, held, kind):
    """At the audit trail's path: `pwdir log` refuses at once with one line; the module decides
    logins as ever (the right password in, a wrong one out and counted) and says in syslog, naming
    the file, that it cannot write the trail; nothing is written into or through it."""
    hardening_world(world)
    path = plant(world, "audit", kind, held)
    planted = fingerprint(path)
    expect_quick_refusal(world, ["log"], path, kind)
    login = hook(world, "authenticate", kind, path, refused=False)  # a success is not audited
    assert login.ok, "the right password was refused with a %s at the audit path:\n%s" % (kind, login)
    result = hook(world, "authenticate", kind, path, password="Wrong-Password-2")
    assert "Authentication failure" in result.output, str(result)
    assert world.show("ana")["failures"] == 1, "the failure after the login was not counted"
    assert fingerprint(path) == planted, "the planted %s at %s changed" % (kind, path)
    held.assert_nothing_written()


@pytest.mark.parametrize("kind", ["fifo", "symlink"])
def test_change_refused_when_audit_trail_unwritable(world, held, kind):
    """`pwdir lock` with a FIFO or a symlink at the audit trail's path refuses (one line naming it)
    and locks nobody: the pending line comes before the change, and a change without it would be
    a change the trail does not know (PRODUCT: every change is recorded in the audit trail)."""
    hardening_world(world)
    path = plant(world, "audit", kind, held)
    before = world.snapshot()
    result = quick_pw(world, "lock", "ana")
    assert not result.ok, "pwdir lock went ahead without an audit trail:\n%s" % result
    assert_one_error_line(result)
    world.assert_unchanged(before, "a lock that could not be recorded")


@pytest.mark.parametrize("kind", KINDS)
def test_tally_planted(world, held, kind):
    """At ana's failure tally: the hooks that read it refuse ana (authenticate with the right
    password, acct_mgmt) at once, saying in syslog which file and why; `user show` and `user
    list` show ana locked for that reason; chauthtok by root (which needs no tally) and every
    other command leave it as it was; only `pwdir unlock` replaces it (rename: a link is not
    written through) and ana logs in again."""
    hardening_world(world)
    path = plant(world, "tally", kind, held)
    planted = fingerprint(path)
    hook(world, "authenticate", kind, path)
    hook(world, "acct_mgmt", kind, path)
    chauthtok = hook(world, "chauthtok", kind, path, refused=False)  # root's change reads no tally
    shown = json.loads(quick_pw(world, "user", "show", "ana", "--json").out)
    assert (shown["usable"], shown["locked"], shown.get("lockReason")) == (False, True, "damaged-tally"), \
        "user show --json does not report ana locked for a damaged tally: %s" % shown
    assert re.search(reason_for(kind), shown.get("tallyDamage", "")), "user show --json does not say why: %s" % shown
    text = quick_pw(world, "user", "show", "ana").out
    assert re.search(reason_for(kind), text), "user show does not say why the tally is refused:\n%s" % text
    assert re.search(r"^ana\b.*locked", quick_pw(world, "user", "list").out, re.M), "user list does not show ana locked"
    for args in (["lock", "ana"], ["user", "modify", "ana", "--full-name", "X"], ["user", "find", "ana"]):
        result = quick_pw(world, *args)
        assert result.ok and result.seconds < QUICK, "pwdir %s (which needs no tally) failed or took %.1f s:\n%s" % (
            " ".join(args), result.seconds, result)
    assert fingerprint(path) == planted, "the planted %s at %s changed" % (kind, path)
    held.assert_nothing_written()
    world.pw_ok("unlock", "ana")
    assert stat.S_ISREG(os.lstat(path).st_mode) and path.stat().st_size == 4096, "unlock did not make a new tally"
    if kind == "symlink":
        assert fingerprint(world.path("real-ana"))[-1] == planted[-1], "unlock wrote through the symlinked tally"
    world.login_ok("ana", "Brand-New-Pass-71" if chauthtok.ok else PASSWORD)


@pytest.mark.parametrize("kind", ["fifo", "fifo-held", "mode"])
def test_lock_file_planted(world, held, kind):
    """At the writers' lock file (users.lock): every writer, command and chauthtok, refuses at
    once with one line naming it; readers and logins, which take no such lock, work. (An empty
    lock file of another owner is taken back by root: a setuid host may have just made it.)"""
    hardening_world(world)
    path = plant(world, "lock", kind, held)
    planted = fingerprint(path)
    before = world.snapshot()
    for args in WRITERS:
        expect_quick_refusal(world, args, path, kind)
    hook(world, "chauthtok", kind, path)
    assert quick_pw(world, "user", "list").ok, "user list failed with a %s at the lock file" % kind
    login = quick_pam(world, "authenticate", [PASSWORD])
    assert login.ok, "a login failed with a %s at the lock file:\n%s" % (kind, login)
    assert fingerprint(path) == planted, "the planted %s at %s changed" % (kind, path)
    held.assert_nothing_written()
    world.assert_unchanged(before, "refused writers")


# ---------------------------------------------------------------------------------------------
# 2. The Swift runtime's variables in a host's environment; syslog lines at a real /dev/log

# Every SWIFT_* variable the static Swift runtime in the module reads (its strings: `strings
# libpam_pwdir.so | grep ^SWIFT_`), each with a value that would make it act: print, install
# signal handlers, change hashing, look for files. SWIFT_DEBUG_NO_SUCH_KNOB: an unknown one, on
# which the runtime prints a warning.
SWIFT_VARIABLES = {
    "SWIFT_BACKTRACE": "enable=yes,interactive=no,output-to=stderr",
    "SWIFT_DEBUG_HELP": "YES",
    "SWIFT_DETERMINISTIC_HASHING": "1",
    "SWIFT_ROOT": "/nonexistent/swift-root",
    "SWIFT_BINARY_COMPATIBILITY_VERSION": "0x50000",
    "SWIFT_DEBUG_ENABLE_METADATA_ALLOCATION_ITERATION": "YES",
    "SWIFT_DEBUG_ENABLE_METADATA_BACKTRACE_LOGGING": "YES",
    "SWIFT_DEBUG_ENABLE_MALLOC_SCRIBBLE": "YES",
    "SWIFT_DEBUG_ENABLE_COW_CHECKS": "YES",
    "SWIFT_DEBUG_FAILED_TYPE_LOOKUP": "YES",
    "SWIFT_DEBUG_IMPLICIT_OBJC_ENTRYPOINT": "3",
    "SWIFT_DUMP_ACCESSIBLE_FUNCTIONS": "YES",
    "SWIFT_ENABLE_MANGLED_NAME_VERIFICATION": "YES",
    "SWIFT_DEBUG_VALIDATE_UNCHECKED_CONTINUATIONS": "YES",
    "SWIFT_DEBUG_CONCURRENCY_ENABLE_COOPERATIVE_QUEUES": "YES",
    "SWIFT_DEBUG_ENABLE_TASK_SLAB_ALLOCATOR": "NO",
    "SWIFT_DEBUG_ENABLE_CACHE_PROTOCOL_CONFORMANCES_BY_TYPE_DESCRIPTOR": "YES",
    "SWIFT_DEBUG_ENABLE_LIB_PRESPECIALIZED_METADATA": "YES",
    "SWIFT_DEBUG_ENABLE_LIB_PRESPECIALIZED_LOGGING": "YES",
    "SWIFT_DEBUG_ENABLE_LIB_PRESPECIALIZED_DESCRIPTOR_LOOKUP": "YES",
    "SWIFT_DEBUG_VALIDATE_LIB_PRESPECIALIZED_DESCRIPTOR_LOOKUP": "YES",
    "SWIFT_DEBUG_LIB_PRESPECIALIZED_PATH": "/nonexistent/prespecialized",
    "SWIFT_DEBUG_LIB_PRESPECIALIZED_ENABLED_PROCESSES": "hoststate",
    "SWIFT_IS_CURRENT_EXECUTOR_LEGACY_MODE_OVERRIDE": "legacy",
    "SWIFT_DEBUG_NO_SUCH_KNOB": "YES",
}

# Runs inside `unshare -m --propagation private` (argv[1]: JSON {"olddev": an empty folder, "steps":
# [{"argv": [...], "env": {...}, "stdin": "..."}]}): puts a tmpfs over /dev (after checking it is
# one: nothing is ever created in the real /dev), binds back the few devices programs use, binds
# a datagram socket at /dev/log, runs each step, and prints one JSON list: per step its status,
# output and the datagrams /dev/log received while it ran.
DEVLOG_RUNNER = r'''
import json, os, socket, subprocess, sys, threading, time
plan = json.loads(sys.argv[1])
old = plan["olddev"]
subprocess.run(["mount", "--bind", "/dev", old], check=True)
subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755,size=1m", "pwdir-e2e-dev", "/dev"], check=True)
fstype = [l.split(" - ")[1].split()[0] for l in open("/proc/self/mountinfo") if l.split()[4] == "/dev"][-1]
if fstype != "tmpfs" or os.stat("/dev").st_dev == os.stat(old).st_dev:
    sys.exit("/dev is not the private tmpfs (%s): stopping before anything is made in it" % fstype)
for name in ("null", "zero", "full", "random", "urandom", "tty", "ptmx"):
    if os.path.exists(os.path.join(old, name)):
        open("/dev/" + name, "w").close()
        subprocess.run(["mount", "--bind", os.path.join(old, name), "/dev/" + name], check=True)
os.mkdir("/dev/pts")
subprocess.run(["mount", "--bind", os.path.join(old, "pts"), "/dev/pts"], check=True)
os.mkdir("/dev/shm", 0o1777)
os.symlink("/proc/self/fd", "/dev/fd")
for n, name in enumerate(("stdin", "stdout", "stderr")):
    os.symlink("/proc/self/fd/%d" % n, "/dev/" + name)
log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
log.bind("/dev/log")
os.chmod("/dev/log", 0o666)
log.settimeout(0.05)
received, stop = [], threading.Event()
def drain():  # the kernel queues only a few datagrams (net.unix.max_dgram_qlen): read them as they come
    while not stop.is_set():
        try:
            received.append(log.recv(65536))
        except socket.timeout:
            pass
reader = threading.Thread(target=drain)
reader.start()
results = []
for step in plan["steps"]:
    data = step.get("stdin")
    done = subprocess.run(step["argv"], env=step["env"], input=data.encode() if data is not None else None,
                          stdin=None if data is not None else subprocess.DEVNULL, capture_output=True, timeout=120)
    time.sleep(0.2)  # what was sent is queued; let the reader take it
    lines, received[:] = list(received), []
    results.append({"rc": done.returncode, "out": done.stdout.decode("utf-8", "replace"),
                    "err": done.stderr.decode("utf-8", "replace"), "syslog": [l.hex() for l in lines]})
stop.set()
reader.join()
print(json.dumps(results))
'''


def with_devlog(world, steps):
    """Runs STEPS ((argv, env, stdin) each) in a private mount namespace whose /dev is a tmpfs
    with a real syslog socket at /dev/log. Per step: a dict with rc, out, err and syslog (the raw
    datagrams received, as bytes)."""
    olddev = world.path("olddev")
    olddev.mkdir()
    plan = {"olddev": str(olddev), "steps": [{"argv": [str(a) for a in argv], "env": env, "stdin": stdin}
                                             for argv, env, stdin in steps]}
    result = run(["unshare", "-m", "--propagation", "private", "/usr/bin/python3", "-c", DEVLOG_RUNNER, json.dumps(plan)],
                 env=world.env, timeout=600, quiet=True)
    assert result.ok, "the /dev/log namespace failed:\n%s" % result
    assert not os.path.exists(olddev / "log"), "a socket was made in the real /dev"
    steps_done = json.loads(result.out)
    for step in steps_done:
        step["syslog"] = [bytes.fromhex(h) for h in step["syslog"]]
        print("$ (in the namespace) -> %s\n%s%s" % (step["rc"], step["out"], step["err"]))
        for line in step["syslog"]:
            print("    syslog| %r" % line)
    return steps_done


# <PRI>Mmm dd hh:mm:ss IDENT[PID]: MESSAGE, facility authpriv (10): PRI 80 to 87
SYSLOG_LINE = re.compile(r"^<(8[0-7])>[A-Z][a-z]{2} [ 0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] "
                         r"(?P<ident>[A-Za-z0-9_.-]+)(\[(?P<pid>[0-9]+)\])?: (?P<message>.+)$")


def readable_syslog(datagrams) -> list:
    """Every datagram as (ident, message): each must be one line of printable UTF-8 text in the
    syslog format, facility authpriv."""
    parsed = []
    for raw in datagrams:
        text = raw.decode("utf-8")  # raises on garbage
        assert "\n" not in text.rstrip("\n") and all(c.isprintable() for c in text.rstrip("\n")), \
            "a syslog line holds control characters: %r" % raw
        match = SYSLOG_LINE.match(text.rstrip("\n"))
        assert match, "not a syslog line (authpriv): %r" % raw
        parsed.append((match.group("ident"), match.group("message")))
    return parsed


def test_swift_variables_and_a_real_syslog_change_nothing_in_the_host(world, c_program, note):
    """In a host on the real libpam (hoststate: 4 rounds of a failed login, a login and a password
    change, with a real syslog socket at /dev/log in a private mount namespace), every SWIFT_*
    variable the module's runtime knows (SWIFT_BACKTRACE=enable=yes, SWIFT_DEBUG_HELP=YES, ...)
    changes nothing: the same output (nothing from the module on stdout or stderr), no signal
    disposition, mask, descriptor or thread changed, the same results and the same syslog lines.
    The one descriptor the module's logging leaves, glibc's syslog socket, is close-on-exec and
    allowed; the module's lines reach /dev/log as plain text, facility authpriv. (Control: the
    same variables make the pwdir command's runtime, which reads them, print its debug help.)"""
    world.write_conf("remember = 0", "deny = 1000")
    world.init()
    world.user_with_password("ana", "Host-State-Pass-1")
    program = c_program("hoststate")
    argv = [program, world.svc, world.service, "ana", "Host-State-Pass-1", "4", "Wrong-Password-1", "Other-State-Pass-2"]
    swift_env = dict(world.env, **SWIFT_VARIABLES)
    # the control: a Swift runtime that reads its environment (the pwdir command's) does act on them
    control = run([world.binaries.pwdir, "user", "list"], env=swift_env, quiet=True)
    assert "Swift runtime debugging" in control.err, "SWIFT_DEBUG_HELP=YES did nothing even in the pwdir command:\n%s" % control
    plain, swift = with_devlog(world, [(argv, world.env, None), (argv, swift_env, None)])
    for name, step in (("without SWIFT_*", plain), ("with SWIFT_*", swift)):
        assert step["rc"] == 0, "hoststate %s: %s" % (name, step["out"].splitlines()[-3:])
        assert step["err"] == "", "hoststate %s wrote on stderr: %r" % (name, step["err"][:500])
        assert "kept open by syslog(3): allowed" in step["out"], \
            "hoststate %s saw no syslog socket: the module's lines did not reach /dev/log" % name
    same = lambda text: re.sub(r"socket:\[[0-9]+\]", "socket:[N]", text)
    assert same(swift["out"]) == same(plain["out"]), "the SWIFT_* variables changed what the host printed:\n%s\n---\n%s" % (
        plain["out"], swift["out"])
    for name, step in (("without SWIFT_*", plain), ("with SWIFT_*", swift)):
        lines = readable_syslog(step["syslog"])
        assert lines and all(ident == "hoststate" for ident, _ in lines), "syslog idents %s: %s" % (name, lines)
        assert any("authentication failure for ana" in m for _, m in lines), "no failure line %s: %s" % (name, lines)
        assert any("password changed for ana" in m for _, m in lines), "no change line %s: %s" % (name, lines)
    strip = lambda step: [m for _, m in readable_syslog(step["syslog"])]
    assert strip(swift) == strip(plain), "the SWIFT_* variables changed the module's syslog lines"
    note("%d module syslog lines per run reached /dev/log as text; %d SWIFT_* variables changed nothing"
         % (len(plain["syslog"]), len(SWIFT_VARIABLES)))


def test_command_syslog_lines_are_plain_text(world):
    """`pwdir lock`, `pwdir unlock` and `pwdir passwd --stdin --allow-weak` write their syslog lines
    (ident pwdir, authpriv) to a real /dev/log as plain text, each saying the action, the target
    and the actor (and that the weak password was allowed); no password in any of them."""
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    pw = world.binaries.pwdir
    steps = with_devlog(world, [([pw, "lock", "ana"], world.env, None), ([pw, "unlock", "ana"], world.env, None),
                                ([pw, "passwd", "ana", "--stdin", "--allow-weak"], world.env, "abcdefghijkl\n")])
    for (action, step) in zip(("lock", "unlock", "passwd"), steps):
        assert step["rc"] == 0, "pwdir %s failed in the namespace: %s" % (action, step["err"])
        lines = readable_syslog(step["syslog"])
        assert lines, "pwdir %s wrote no syslog line to /dev/log" % action
        for ident, message in lines:
            assert ident == "pwdir", "pwdir %s logged as %r" % (action, ident)
            assert "abcdefghijkl" not in message, "a password in syslog: %r" % message
        said = [m for _, m in lines if re.match(r"^%s (ok|pending)\b" % action, m)]
        assert any(re.match(r"^%s ok target=ana actor=root\b" % action, m) for m in said), \
            "no 'action ok target=ana actor=root' line for %s: %s" % (action, lines)
    passwd_ok = [m for _, m in readable_syslog(steps[2]["syslog"]) if m.startswith("passwd ok")]
    assert any("weak" in m for m in passwd_ok), "the passwd line does not say the weak password was allowed: %s" % passwd_ok


# ---------------------------------------------------------------------------------------------
# 3. The passwords in a host's memory after pam_end

CRACKLIB_DICTIONARY = "/var/cache/cracklib/cracklib_dict"  # Debian's (cracklib-runtime)


@pytest.fixture
def memory_host(c_program):
    return c_program("memory_host")


COPY_LINE = re.compile(r"^copy (?P<phase>.+?): (?P<which>old|new) (?P<form>.+?) at 0x[0-9a-f]+ in (?P<where>.+)$", re.M)


@pytest.mark.parametrize("dictcheck", [1, 0])
def test_no_password_left_in_memory_after_pam_end(world, memory_host, note, dictcheck):
    """A host on the real libpam run as passwd runs (a user's setuid-root program) logs in with
    one password and changes it to another (the current one asked and checked), calls pam_end,
    then reads every readable mapping of its memory for both passwords, as typed, in lower case,
    reversed, reversed in lower case. Nothing is left anywhere: not in the module, its Swift
    runtime, libpam, libpwquality, the heap or the stacks, and not in libcrack's static buffers
    either (FascistCheck leaves the new password there, lower-cased and reversed; the module
    overwrites it with one more check of a dummy), with dictcheck = 1 or 0. (The scanner's own self-test first: it must find two
    copies it planted, one on the heap and one in its bss.)"""
    old, new = "Zq7-Ember-Vault-81", "Kp4-Glacier-Moth-53"
    secrets = lines_of(old, new)
    self_test = run([memory_host, "--self-test"], env=world.env, stdin=secrets)
    assert self_test.ok, "the memory scan's self-test failed:\n%s" % self_test
    world.write_conf("dictcheck = %d" % dictcheck, "remember = 0")
    world.init()
    world.user_with_password("ana", old)
    world.secret(new)
    result = run([memory_host, world.svc, world.service, "ana", CRACKLIB_DICTIONARY], env=world.env, stdin=secrets)
    assert result.ok, "the PAM calls in memory_host failed:\n%s" % result
    assert "pam_chauthtok -> 0" in result.out and "scan after pam_end:" in result.out, str(result)
    world.login_ok("ana", new)
    copies = [m.groupdict() for m in COPY_LINE.finditer(result.out)]
    after_end = [c for c in copies if c["phase"] == "after pam_end"]
    after_dummy = [c for c in copies if c["phase"] == "after a dummy FascistCheck"]
    assert not after_end, "copies of a password outlive pam_end: %s" % after_end
    said = lambda found: "; ".join("%s %s in %s" % (c["which"], c["form"], c["where"]) for c in found) or "none"
    note("dictcheck = %d: after pam_end: %s; after one dummy FascistCheck: %s" % (dictcheck, said(after_end), said(after_dummy)))


# ---------------------------------------------------------------------------------------------
# 4. Killed at every write, rename and fsync; an fsync error after the rename

# Every syscall by which a change reaches the disk: a SIGKILL on entering the Nth call of one of
# them (strace -e inject=SYSCALL:signal=SIGKILL:when=N: the call is not made) stops the command
# between two steps of its change, at every such point in turn.
KILL_SYSCALLS = ("write", "pwrite64", "fsync", "rename", "link", "unlink")
FILES = ("users", "users-", "users+", "users.lock", "users.seal", "users.d", "users.tally", "audit.log", "pwdir.conf")


class Saved:
    """The world's files (directory, backup, lock, tallies, audit trail, settings) as they were,
    put back before each run."""

    def __init__(self, world):
        self.world = world
        self.copy = world.path("saved")
        self.copy.mkdir()
        for name in FILES:
            self._move(world.path(name), self.copy / name)

    @staticmethod
    def _move(source: Path, target: Path):
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True)
        elif source.exists():
            shutil.copy2(source, target)

    def restore(self):
        for name in FILES:
            self._move(self.copy / name, self.world.path(name))


def strace(world, trace, syscalls, argv, stdin, *inject) -> Run:
    assert shutil.which("strace"), "strace is missing (Debian package strace)"
    return run(["strace", "-f", "-qq", "-o", trace, "-e", "trace=" + ",".join(syscalls), *inject, "--", *argv],
               env=world.env, stdin=stdin, quiet=True)


def kill_points(world, args, stdin) -> list:
    """(SYSCALL, N) for every call of KILL_SYSCALLS `pwdir ARGS` makes, in a run to the end."""
    trace = world.path("trace")
    result = strace(world, trace, KILL_SYSCALLS, [world.binaries.pwdir, *args], stdin)
    assert result.ok, "pwdir %s under strace failed:\n%s" % (" ".join(args), result)
    counts = {}
    points = []
    for line in trace.read_text().splitlines():
        found = re.match(r"^\d+ +(\w+)\(", line)
        if found and found.group(1) in KILL_SYSCALLS:
            counts[found.group(1)] = counts.get(found.group(1), 0) + 1
            points.append((found.group(1), counts[found.group(1)], line[:160]))
    return points


def audit_count(world, action: str, target: str, results=("ok", "interrupted")) -> int:
    events = json.loads(world.pw_ok("log", "--json", "--user", target).out)["events"]
    return sum(e.get("action") == action and e.get("target") == target and e.get("result") in results for e in events)


def kill_everywhere(world, note, args, stdin, action: str, target: str, applied):
    """Runs `pwdir ARGS` killed at each of its kill points in turn, from the same saved world;
    after each: the directory parses (`pwdir user list`), APPLIED() says whether the change is
    there (True), not at all (False), and fails if it is half there; a change that happened has
    its record in the audit trail (ok, or interrupted: its pending line), one that did not has no
    "ok" record. Then the same run to its end."""
    world.pw_ok("log")  # the audit trail exists before the runs
    saved = Saved(world)
    points = kill_points(world, args, stdin)
    assert points, "pwdir %s made none of %s" % (" ".join(args), KILL_SYSCALLS)
    seen = {True: 0, False: 0, "interrupted": 0}
    for syscall, n, line in points:
        saved.restore()
        before_ok, before_any = audit_count(world, action, target, ("ok",)), audit_count(world, action, target)
        trace = world.path("trace")
        killed = strace(world, trace, [syscall], [world.binaries.pwdir, *args], stdin,
                        "-e", "inject=%s:signal=SIGKILL:when=%d" % (syscall, n))
        where = "pwdir %s killed on entering %s #%d (%s)" % (" ".join(args), syscall, n, line)
        assert "+++ killed by SIGKILL +++" in trace.read_text(), "%s: it was not killed:\n%s" % (where, killed)
        listed = world.pw("user", "list")
        assert listed.ok, "%s: the directory does not parse:\n%s" % (where, listed)
        done = applied()
        seen[done] += 1
        if done:
            assert audit_count(world, action, target) > before_any, "%s: the change happened, the audit trail has no record of it" % where
            seen["interrupted"] += audit_count(world, action, target, ("interrupted",)) > 0
        else:
            assert audit_count(world, action, target, ("ok",)) == before_ok, "%s: the audit trail says ok, the change is not there" % where
    saved.restore()
    world.pw_ok(*args, stdin=stdin)
    assert applied(), "pwdir %s run to its end did not apply the change" % " ".join(args)
    note("pwdir %s killed at %d points (%s): %d left the change out, %d made it whole (%d of them recorded as "
         "interrupted, the others as ok)" % (action, len(points), ", ".join(sorted({p[0] for p in points})), seen[False],
                                             seen[True], seen["interrupted"]))


def locked_out_world(world):
    """ana with PASSWORD, locked after 3 failed logins (deny = 3)."""
    world.write_conf("deny = 3", "remember = 0")
    world.init()
    world.user_with_password("ana", PASSWORD)
    for _ in range(3):
        world.login_refused("ana", "Wrong-Password-3")
    shown = world.show("ana")
    assert shown["locked"] and shown["failures"] == 3, "ana is not locked after 3 failures: %s" % shown


def test_unlock_killed_at_every_step(world, note):
    """`pwdir unlock ana` (locked after 3 failed logins) killed at every write, rename, fsync,
    link and unlink: ana is either still locked with her 3 failures, or unlocked with none and
    logging in — never half; the audit trail records every unlock that happened."""
    locked_out_world(world)

    def applied():
        shown = world.show("ana")
        if shown["locked"]:
            assert shown.get("lockReason") == "failures" and shown["failures"] == 3, "half an unlock: %s" % shown
            return False
        assert shown["failures"] == 0 and shown["usable"], "half an unlock: %s" % shown
        world.login_ok("ana", PASSWORD)
        return True
    kill_everywhere(world, note, ["unlock", "ana"], None, "unlock", "ana", applied)


def test_passwd_killed_at_every_step(world, note):
    """`pwdir passwd ana --stdin` killed at every step: ana's password is the old one (the
    directory's hash unchanged) or the new one, which logs in; never anything else."""
    world.write_conf("remember = 0")
    world.init()
    world.user_with_password("ana", PASSWORD)
    new = "Vx3-Killed-Write-62"
    world.secret(new)
    old_hash = re.search(rb"userPassword=[^\t\n]*", world.snapshot()).group(0)

    def applied():
        now = re.search(rb"userPassword=[^\t\n]*", world.snapshot())
        assert now, "ana has no password after the kill"
        if now.group(0) == old_hash:
            return False
        world.login_ok("ana", new)
        return True
    kill_everywhere(world, note, ["passwd", "ana", "--stdin", "--no-force-change"], lines_of(new), "passwd", "ana", applied)


def test_lock_killed_at_every_step(world, note):
    """`pwdir lock ana` killed at every step: ana is locked by root, or not locked at all."""
    world.write_conf("userdb_dir = off")  # the directory's steps (publishing comes after the commit)
    world.init()
    world.user_with_password("ana", PASSWORD)

    def applied():
        shown = world.show("ana")
        if not shown["locked"]:
            assert shown["usable"], "half a lock: %s" % shown
            return False
        assert shown.get("lockReason") == "administrator" and shown.get("lockedBy") == "root", "half a lock: %s" % shown
        return True
    kill_everywhere(world, note, ["lock", "ana"], None, "lock", "ana", applied)


def test_user_add_killed_at_every_step(world, note):
    """`pwdir user add bob` killed at every step: bob is in the directory or not; the directory
    holds ana either way."""
    world.write_conf("userdb_dir = off")  # the directory's steps (publishing comes after the commit)
    world.init()
    world.user_with_password("ana", PASSWORD)

    def applied():
        logins = [u["login"] for u in json.loads(world.pw_ok("user", "list", "--json").out)["users"]]
        assert "ana" in logins, "ana is gone: %s" % logins
        return "bob" in logins
    kill_everywhere(world, note, ["user", "add", "bob"], None, "user add", "bob", applied)


def test_folder_fsync_error_after_rename_says_may_have_been_applied(world):
    """`pwdir passwd ana --stdin` whose fsync of the directory's folder (after the rename) fails
    with EIO: one line on stderr saying the change may have been applied, a non-zero status; the
    audit trail ends the change as "unknown", never plainly "failed", and `pwdir log` says so;
    the new password (renamed into place) is the one that works."""
    world.write_conf("remember = 0")
    world.init()
    world.user_with_password("ana", PASSWORD)
    new = "Ey5-Fsync-Error-47"
    world.secret(new)
    args = [world.binaries.pwdir, "passwd", "ana", "--stdin", "--no-force-change"]
    trace = world.path("trace")
    saved = Saved(world)
    assert strace(world, trace, ["fsync"], args, lines_of(new), "-y").ok, "pwdir passwd under strace failed"
    fsyncs = [line for line in trace.read_text().splitlines() if re.match(r"^\d+ +fsync\(", line)]
    folder = [i for i, line in enumerate(fsyncs, 1) if re.search(r"<%s>\)" % re.escape(str(world.folder)), line)]
    assert folder, "no fsync of the folder %s: %s" % (world.folder, fsyncs)
    saved.restore()
    result = strace(world, trace, ["fsync"], args, lines_of(new), "-e", "inject=fsync:error=EIO:when=%d" % folder[0])
    print(result)
    assert not result.ok, "pwdir passwd succeeded although the folder's fsync failed"
    assert_one_error_line(result)
    assert "may have been applied" in result.err, "the error does not say the change may have been applied:\n%s" % result
    ending = [json.loads(line) for line in world.path("audit.log").read_text().splitlines()][-1]
    assert ending["action"] == "passwd" and ending["result"] != "failed", "the audit trail says plainly failed: %s" % ending
    assert ending["result"] == "unknown" and "may have been applied" in ending.get("detail", ""), ending
    shown = [e for e in json.loads(world.pw_ok("log", "--json", "--user", "ana").out)["events"] if e["action"] == "passwd"][-1]
    assert shown["result"] == "unknown", "pwdir log shows the change as %s" % shown
    world.login_ok("ana", new)


def test_migrate_killed_at_every_step(world, note):
    """`pwdir migrate` killed at every write, rename, fsync, link and unlink: the directory is
    the format-1 file, whole, or the format-2 one, whole (`users` naming shards that are all
    there); ana logs in either way, and the next migrate finishes the job."""
    world.init("--format", "1")
    world.user_with_password("ana", PASSWORD)
    for name in ("bob", "carl", "dora"):
        world.pw_ok("user", "add", name)
    world.pw_ok("log")
    saved = Saved(world)
    points = kill_points(world, ["migrate"], None)
    assert len(points) > 256, "migrate wrote %d times, not once a shard" % len(points)
    # Every 17th point, and the last 40 (the commit and what follows it): 256 shard writes
    # that differ only by their shard are not 256 different kill points.
    chosen = points[::17] + points[-40:]
    seen = {1: 0, 2: 0}
    for syscall, n, line in chosen:
        saved.restore()
        trace = world.path("trace")
        strace(world, trace, [syscall], [world.binaries.pwdir, "migrate"], None,
               "-e", "inject=%s:signal=SIGKILL:when=%d" % (syscall, n))
        where = "pwdir migrate killed on entering %s #%d (%s)" % (syscall, n, line)
        assert "+++ killed by SIGKILL +++" in trace.read_text(), "%s: it was not killed" % where
        listed = world.pw("user", "list", "--json")
        assert listed.ok, "%s: the directory does not parse:\n%s" % (where, listed)
        assert sorted(u["login"] for u in json.loads(listed.out)["users"]) == ["ana", "bob", "carl", "dora"], where
        fmt = 2 if world.db.read_bytes().startswith(b"pwdir-directory 2\n") else 1
        seen[fmt] += 1
        world.login_ok("ana", PASSWORD)
        world.pw_ok("migrate")
        assert world.db.read_bytes().startswith(b"pwdir-directory 2\n"), "%s: the next migrate did not finish" % where
        world.login_ok("ana", PASSWORD)
    saved.restore()
    note("pwdir migrate killed at %d of its %d points: %d left format 1, %d format 2" % (len(chosen), len(points), seen[1], seen[2]))
    assert seen[1] and seen[2], "the kills never landed on both sides of the commit: %s" % seen
