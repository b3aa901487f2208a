"""Fixtures of pwdir's end-to-end tests: the built `pwdir` and `libpam_pwdir.so` driven from the
outside — the module through pamtester under pam_wrapper (or a small C host on the real libpam),
mail through msmtp to a real SMTP server on loopback. Nothing outside one temp folder is touched
(no /etc/pam.d, /etc/passwd, /etc/shadow, no system account); that folder goes at the end.

    /usr/bin/python3 -m pytest Tests/e2e            binaries from .build/release
    PWDIR_BIN=DIR /usr/bin/python3 -m pytest ...    binaries from DIR
    PWDIR_E2E_KEEP=1 ...                            keep the temp folder (worlds, logs) for a look

Run as root (the module starts `pwdir` helpers, which must be root's; one test switches to uid
65534). Debian's python3 has what is needed: python3-pytest, python3-pexpect, python3-aiosmtpd.
"""
import os
import re
import struct
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# The suite writes nothing beside itself: no bytecode for the modules imported from here on.
sys.dont_write_bytecode = True
pytest.register_assert_rewrite("pwdir_e2e")

import pwdir_e2e as e2e  # noqa: E402

_notes = []


def pytest_configure(config):
    os.umask(0o022)


def pytest_terminal_summary(terminalreporter):
    """What the tests measured (timings, counts): printed as the shell suites printed their notes."""
    if _notes:
        terminalreporter.section("notes")
        for name, text in _notes:
            terminalreporter.write_line("%s: %s" % (name, text))


def pytest_unconfigure(config):
    # pytest wrote this conftest's rewritten bytecode before the line above could stop it
    cache = e2e.HERE / "__pycache__"
    for pyc in cache.glob("*-pytest-*.pyc"):
        pyc.unlink(missing_ok=True)
    if cache.is_dir() and not any(cache.iterdir()):
        cache.rmdir()


@pytest.fixture
def note(request):
    """note(TEXT): a line printed after the run, under the test's name."""
    def add(text):
        _notes.append((request.node.name, text))
        print("note:", text)
    return add


# ---------------------------------------------------------------------------------------------
# The session: binaries, tools, one temp folder, secrets, compiled helpers


@pytest.fixture(scope="session")
def binaries():
    """The pwdir and libpam_pwdir.so under test; the run stops at once if they or a tool are missing."""
    if os.geteuid() != 0:
        pytest.exit("run as root (the module runs pwdir helpers as root; one test switches to uid 65534)", returncode=2)
    missing = e2e.missing_tools()
    if missing:
        pytest.exit("missing: " + ", ".join(missing), returncode=2)
    try:
        return e2e.Binaries.find()
    except LookupError as error:
        pytest.exit(str(error), returncode=2)


@pytest.fixture(scope="session")
def session_dir():
    """The one temp folder of the run; every test's world is a folder in it."""
    folder = Path(tempfile.mkdtemp(prefix="pwdir-e2e."))
    folder.chmod(0o711)  # uid 65534 must reach its own corner of it
    yield folder
    e2e.wait_for_recovery_helpers(folder, 10)  # detached helpers may still be finishing their work
    if os.environ.get("PWDIR_E2E_KEEP"):
        print("\nkept %s" % folder)
    else:
        shutil.rmtree(folder, ignore_errors=True)


def _system_userdb():
    """What the system's /run/userdb holds (None: no such folder)."""
    try:
        return sorted(os.listdir("/run/userdb"))
    except FileNotFoundError:
        return None


@pytest.fixture(autouse=True)
def system_userdb_untouched():
    """No test publishes accounts in the real /run/userdb (pwdir's default userdb_dir): worlds
    set their own folder, namespaces turn publishing off or mount a scratch /run."""
    before = _system_userdb()
    yield
    assert _system_userdb() == before, "a test changed the system's /run/userdb"


@pytest.fixture(scope="session")
def secrets():
    """Every password, code and hash the tests handed out or saw: never to be in an audit trail."""
    return set()


# The C helper programs beside this file, with what each is compiled with.
C_HELPERS = {
    "dlopen_check": ["-ldl"],
    "hoststate": ["-O1", "-lpam"],
    "recovery_host": ["-O1", "-lpam"],
    "memory_host": ["-O1", "-lpam"],
}


@pytest.fixture(scope="session")
def c_program(session_dir):
    """c_program(NAME): Tests/e2e/NAME.c compiled once per run; the executable's path."""
    built = {}
    folder = session_dir / "bin"

    def compile_once(name):
        if name not in built:
            folder.mkdir(exist_ok=True)
            target = folder / name
            done = subprocess.run(["cc", "-Wall", "-o", str(target), str(e2e.HERE / (name + ".c")), *C_HELPERS[name]],
                                  capture_output=True, text=True)
            assert done.returncode == 0, "cannot compile %s.c:\n%s" % (name, done.stderr)
            built[name] = target
        return built[name]
    return compile_once


# ---------------------------------------------------------------------------------------------
# A world per test


@pytest.fixture
def world(request, session_dir, binaries, secrets):
    """The test's own world (pwdir_e2e.World): folder, directory, settings (absent until
    written), service pwtest. The directory does not exist yet: tests start with world.init()."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    folder, n = session_dir / name, 1
    while folder.exists():
        n += 1
        folder = session_dir / ("%s.%d" % (name, n))
    made = e2e.World(folder, binaries, secrets)
    yield made
    for conversation in made.conversations:
        conversation.close()


@pytest.fixture
def smtp(world, secrets):
    """A real SMTP server on loopback for this test (pwdir_e2e.MailServer), known to the world."""
    server = e2e.MailServer(world.folder, secrets)
    world.smtp = server
    yield server
    server.stop()


@pytest.fixture
def mailbox(smtp):
    """What this test's SMTP server received (pwdir_e2e.Mailbox)."""
    return smtp.mailbox


@pytest.fixture
def mail_world(world, smtp):
    """A world whose settings send mail through msmtp to this test's SMTP server."""
    world.mail_conf()
    return world


@pytest.fixture
def recovery_world(world, smtp, binaries):
    """A world with self-service recovery on: the module runs the pwdir under test (pwdir=) for
    recovery requests, and the settings send mail to this test's SMTP server."""
    world.module_extra = "pwdir=%s" % binaries.pwdir
    world.write_service()
    world.recovery_conf()
    return world


# ---------------------------------------------------------------------------------------------
# The failure tallies


class Tally:
    """The one place that knows the module's per-user tally files: `users.tally/LOGIN` beside the
    directory, 4096 bytes in the format `Sources/PwdirCore/Store/File/TallyCodec.swift` describes
    (two checksummed slots; the newer valid one counts). When that format changes, only this class
    changes. Tests ask `pwdir user show --json` and pamtester wherever they can, and come here only
    for what nothing public shows: a recovery code's clock and tries, and moving that clock; the
    attempts in flight and their age; and values no module would write."""

    SIZE = 4096
    MAGIC = b"pwdir-tally 2\n\0\0"
    SLOTS = (16, 16 + 2040)
    SLOT = 2040
    RECOVERY = 1072

    def __init__(self, db: Path):
        self.folder = Path(str(db) + ".tally")

    def path(self, login: str) -> Path:
        return self.folder / login

    @staticmethod
    def checksum(slot: bytes, seq: int) -> int:
        h = 0xCBF29CE484222325
        for b in seq.to_bytes(8, "little") + slot[16:]:
            h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
        return h

    @staticmethod
    def next_sequence(seq: int) -> int:
        """The sequence number after SEQ, as the module numbers them: after u64 max comes 2."""
        return 2 if seq == 2 ** 64 - 1 else seq + 1

    def _current(self, login: str):
        data = self.path(login).read_bytes()
        assert len(data) == self.SIZE and data.startswith(self.MAGIC), "tally %s is not a version 2 tally" % login
        valid = []
        for index, offset in enumerate(self.SLOTS):
            slot = data[offset:offset + self.SLOT]
            seq, check = struct.unpack_from("<QQ", slot, 0)
            if seq and seq % 2 == index and check == self.checksum(slot, seq):
                valid.append((offset, seq, bytearray(slot)))
        assert valid, "tally %s has no valid copy" % login
        if len(valid) == 2:
            # The copy that follows the other (after u64 max comes 2), else the higher.
            a, b = valid
            if self.next_sequence(a[1]) == b[1]:
                return data, b
            if self.next_sequence(b[1]) == a[1]:
                return data, a
        return data, max(valid, key=lambda v: v[1])

    def fields(self, login: str) -> dict:
        """The recovery code's state as KEY: str(VALUE): code (its hash), codeSent, codeExpires (epoch
        seconds), codeTries; empty when there is no code."""
        _, (_, _, slot) = self._current(login)
        if slot[26] != 1:
            return {}
        r = self.RECOVERY
        sent, expires = struct.unpack_from("<qq", slot, r)
        length = slot[r + 32]
        return {"code": bytes(slot[r + 33:r + 33 + length]).decode(), "codeSent": str(sent),
                "codeExpires": str(expires), "codeTries": str(slot[27])}

    def set_fields(self, login: str, **values):
        """Moves the recovery code's clock (codeSent, codeExpires): writes a new version in the other
        slot, as the module does."""
        data, (offset, seq, slot) = self._current(login)
        assert slot[26] == 1, "tally %s holds no recovery code" % login
        where = {"codeSent": self.RECOVERY, "codeExpires": self.RECOVERY + 8}
        for key, value in values.items():
            assert key in where, "tally field %s cannot be set" % key
            struct.pack_into("<q", slot, where[key], int(value))
        seq = self.next_sequence(seq)
        struct.pack_into("<Q", slot, 0, seq)
        struct.pack_into("<Q", slot, 8, self.checksum(bytes(slot), seq))
        other = self.SLOTS[seq % 2]
        with open(self.path(login), "r+b") as f:
            f.seek(other)
            f.write(bytes(slot))

    def code_alive(self, login: str) -> bool:
        """The tally holds a recovery code with tries left (fewer than 3)."""
        try:
            fields = self.fields(login)
        except FileNotFoundError:
            return False
        return "code" in fields and int(fields["codeTries"]) < 3

    # Whole slots: the attempts in flight, and values no module would ever write.

    ATTEMPTS = 48

    def slot(self, login: str) -> dict:
        """The current version: sequence; locked (lock time, 0: none); attempts, oldest first, as
        (time, nonce) with nonce 0 for a counted failure and any other for an attempt in flight;
        overflow (failures beyond the 64 kept one by one) and overflowNewest; generation."""
        _, (_, seq, s) = self._current(login)
        count = struct.unpack_from("<H", s, 24)[0]
        return {"sequence": seq, "locked": struct.unpack_from("<q", s, 16)[0],
                "attempts": [struct.unpack_from("<qQ", s, self.ATTEMPTS + 16 * i) for i in range(min(count, 64))],
                "overflow": struct.unpack_from("<I", s, 28)[0], "generation": struct.unpack_from("<Q", s, 32)[0],
                "overflowNewest": struct.unpack_from("<q", s, 40)[0]}

    def in_flight(self, login: str) -> list:
        """The times of LOGIN's attempts in flight (counted before their hash, not settled yet)."""
        return [time for time, nonce in self.slot(login)["attempts"] if nonce]

    def age_in_flight(self, login: str, seconds: int):
        """Moves the start of LOGIN's attempts in flight SECONDS into the past (as if their process
        had been stopped that long): a new version in the other slot, as the module writes."""
        data, (offset, seq, slot) = self._current(login)
        count = struct.unpack_from("<H", slot, 24)[0]
        for i in range(count):
            time, nonce = struct.unpack_from("<qQ", slot, self.ATTEMPTS + 16 * i)
            if nonce:
                struct.pack_into("<q", slot, self.ATTEMPTS + 16 * i, time - seconds)
        seq = self.next_sequence(seq)
        struct.pack_into("<Q", slot, 0, seq)
        struct.pack_into("<Q", slot, 8, self.checksum(bytes(slot), seq))
        with open(self.path(login), "r+b") as f:
            f.seek(self.SLOTS[seq % 2])
            f.write(bytes(slot))

    @classmethod
    def encode_slot(cls, sequence: int, locked: int = 0, attempts=(), overflow: int = 0, overflow_newest: int = 0,
                    generation: int = 0, count: int = None, recovery: dict = None) -> bytes:
        """One slot holding exactly the values given, checked against nothing (times any i64,
        counters anything their field holds; COUNT: the attempt count as written, else
        len(ATTEMPTS)), with a right checksum. RECOVERY: hash, sent, expires, tries, claimNonce,
        claimTime."""
        s = bytearray(cls.SLOT)
        struct.pack_into("<Q", s, 0, sequence)
        struct.pack_into("<q", s, 16, locked)
        struct.pack_into("<H", s, 24, len(attempts) if count is None else count)
        struct.pack_into("<I", s, 28, overflow)
        struct.pack_into("<Q", s, 32, generation)
        struct.pack_into("<q", s, 40, overflow_newest)
        for i, (time, nonce) in enumerate(attempts):
            struct.pack_into("<qQ", s, cls.ATTEMPTS + 16 * i, time, nonce)
        if recovery:
            code = recovery["hash"].encode()
            s[26], s[27] = 1, recovery.get("tries", 0)
            struct.pack_into("<qqQqB", s, cls.RECOVERY, recovery["sent"], recovery["expires"],
                             recovery.get("claimNonce", 0), recovery.get("claimTime", 0), len(code))
            s[cls.RECOVERY + 33:cls.RECOVERY + 33 + len(code)] = code
        struct.pack_into("<Q", s, 8, cls.checksum(bytes(s), sequence))
        return bytes(s)

    def write(self, login: str, slot0: bytes = None, slot1: bytes = None):
        """Replaces LOGIN's tally with a whole file (root's, 0600) holding these slots (None: zeros,
        an empty copy)."""
        data = bytearray(self.MAGIC + bytes(self.SIZE - len(self.MAGIC)))
        for offset, slot in zip(self.SLOTS, (slot0, slot1)):
            if slot is not None:
                data[offset:offset + self.SLOT] = slot
        temp = self.folder / (".test." + login)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(bytes(data))
        os.rename(temp, self.path(login))

    @staticmethod
    def hashes_under(root: Path) -> set:
        """Every yescrypt hash kept under ROOT: directory files, their backups, shards, the tallies."""
        files = [p for p in root.rglob("*") if p.is_file() and (p.name in ("users", "users-") or p.parent.name.endswith((".tally", ".d")))]
        found = set()
        for f in files:
            found.update(m.decode() for m in re.findall(rb"\$y\$[./A-Za-z0-9$]+", f.read_bytes()))
        return found


@pytest.fixture
def tally(world):
    """The world's failure tallies (Tally): only for what no public interface shows."""
    return Tally(world.db)
