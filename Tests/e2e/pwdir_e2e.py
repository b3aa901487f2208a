"""What pwdir's end-to-end tests share besides their fixtures (conftest.py builds those from this).

- `Binaries`: the `pwdir` and `libpam_pwdir.so` under test (PWDIR_BIN, else .build/release).
- `World`: one test's scratch world (folder, directory file, settings file, pam_wrapper service
  folder) and the ways to act on it: the `pwdir` command, pamtester under pam_wrapper (answers on
  stdin, or prompt by prompt at a terminal through pexpect), logins that must pass or fail.
- `MailServer` / `Mailbox` / `Mail`: a real SMTP server (aiosmtpd) on loopback, what it received,
  parsed by Python's email package; msmtp is the MTA client pwdir runs.
- `write_directory_file`: a directory file made by hand (big ones, corrupt ones).

Every command is printed with its status and output, so a failing test's captured output is its log.
"""
from __future__ import annotations

import email
import email.policy
import io
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pexpect
from aiosmtpd.controller import Controller

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NOBODY = 65534
MSMTP = "/usr/bin/msmtp"
COMMAND_TIMEOUT = 60  # seconds: a hang is a failure, not a stuck suite
MAIL_FROM = "pwdir@example.org"


def ms(seconds: float) -> str:
    return "%d ms" % round(seconds * 1000)


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


# ---------------------------------------------------------------------------------------------
# Running things


@dataclass
class Run:
    """A finished command: its words, exit status, standard output and error, and how long it took."""

    argv: list
    rc: int
    out: str
    err: str
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.rc == 0

    @property
    def output(self) -> str:
        """stdout then stderr, for looking something up in either."""
        return self.out + self.err

    def __str__(self) -> str:
        """The command, its status and the end of its output, as the test's log shows them."""
        lines = ["$ %s -> %s" % (shlex.join(str(a) for a in self.argv), self.rc)]
        lines += ["    out| " + line for line in self.out.splitlines()[-40:]]
        lines += ["    err| " + line for line in self.err.splitlines()[-40:]]
        return "\n".join(lines)

    def __repr__(self) -> str:  # what pytest shows beside an assertion's own message
        return "Run(%s -> %s)" % (shlex.join(str(a) for a in self.argv[:4]), self.rc)


def run(argv, *, env, stdin=None, timeout=COMMAND_TIMEOUT, cwd=None, quiet=False) -> Run:
    """Runs ARGV to its end; stdin is the text (or bytes) given, else /dev/null."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    start = time.perf_counter()
    done = subprocess.run(
        [str(a) for a in argv], input=data, stdin=subprocess.DEVNULL if data is None else None,
        capture_output=True, env=env, timeout=timeout, cwd=cwd)
    seconds = time.perf_counter() - start
    result = Run(list(argv), done.returncode, done.stdout.decode("utf-8", "replace"),
                 done.stderr.decode("utf-8", "replace"), seconds)
    if not quiet:
        print(result)
    return result


def lines_of(*answers) -> str:
    """Answers for a program reading its prompts' answers from stdin, one a line."""
    return "".join(a + "\n" for a in answers)


def base_environment() -> dict:
    """The environment every command starts from: this one, less what would steer pwdir or
    pam_wrapper from outside the test (PWDIR_*, SUDO_*, a preload), in a UTF-8 C locale."""
    drop = ("PWDIR_", "SUDO_", "PAM_WRAPPER", "LD_PRELOAD")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["LC_ALL"] = "C.UTF-8"
    return env


def missing_tools() -> list:
    """What the suites need and this machine lacks, each with the Debian package that has it."""
    missing = ["%s (%s)" % (tool, package) for tool, package in [
        ("pamtester", "pamtester"), ("cc", "gcc"), ("sshd", "openssh-server"), ("ssh", "openssh-client"), ("setpriv", "util-linux"), ("nm", "binutils"),
        ("readelf", "binutils"), ("ldd", "libc-bin")] if shutil.which(tool) is None]
    if not os.path.exists(MSMTP):
        missing.append(MSMTP + " (msmtp)")
    if not os.path.exists("/usr/lib/x86_64-linux-gnu/libpam_wrapper.so") and \
            "libpam_wrapper.so" not in run(["ldconfig", "-p"], env=base_environment(), quiet=True).out:
        missing.append("libpam_wrapper.so (libpam-wrapper)")
    if not os.path.exists("/usr/include/security/pam_appl.h"):
        missing.append("PAM headers (libpam0g-dev)")
    return missing


@dataclass
class Binaries:
    """The `pwdir` and `libpam_pwdir.so` under test, by absolute path (PAM lines want one)."""

    pwdir: Path
    module: Path

    @property
    def chkpwd(self) -> Path:
        """The setuid helper for callers without root (built beside the command)."""
        return self.pwdir.parent / "pwdir-chkpwd"

    @classmethod
    def find(cls) -> "Binaries":
        """From PWDIR_BIN, else .build/release under the repository; raises LookupError saying
        what is missing."""
        folder = Path(os.environ.get("PWDIR_BIN") or ROOT / ".build" / "release")
        found = cls(folder.resolve() / "pwdir", folder.resolve() / "libpam_pwdir.so")
        if not os.access(found.pwdir, os.X_OK):
            raise LookupError("no pwdir at %s; build with 'swift build -c release' or set PWDIR_BIN" % found.pwdir)
        if not found.module.is_file():
            raise LookupError("no libpam_pwdir.so at %s; build with 'swift build -c release' or set PWDIR_BIN"
                              % found.module)
        info = found.pwdir.stat()
        if info.st_uid != 0 or info.st_mode & 0o022:
            # the module runs pwdir (recovery) only if it is root's and writable by nobody else
            raise LookupError("%s must be owned by root and not group/world-writable" % found.pwdir)
        return found


# ---------------------------------------------------------------------------------------------
# The world of one test


class World:
    """One test's scratch world: its folder, the directory file `db`, the settings file `conf`
    (PWDIR_DB / PWDIR_CONFIG point at them), and the pam_wrapper service folder `svc` with the
    service `pwtest`, whose every stack line loads the module by absolute path with db=, config=,
    nodelay (and `module_extra`). Passwords, codes and hashes it meets go into `secrets`."""

    def __init__(self, folder: Path, binaries: Binaries, secrets: set, module_extra: str = ""):
        self.folder = folder
        self.binaries = binaries
        self.secrets = secrets
        self.db = folder / "users"
        self.conf = folder / "pwdir.conf"
        self.svc = folder / "svc"
        self.service = "pwtest"
        self.module_extra = module_extra
        self.smtp = None  # a MailServer, when the test has one
        self.conversations = []  # closed by the fixture at the end, whatever happened
        self.svc.mkdir(parents=True)
        self.userdb = folder / "userdb"
        self.write_conf()
        self.env = dict(base_environment(), PWDIR_DB=str(self.db), PWDIR_CONFIG=str(self.conf))
        self.write_service()
        # pam_wrapper complains without a default "other" service
        (self.svc / "other").write_text(lines_of(*("%s required pam_deny.so" % stack for stack in
                                                   ("auth", "account", "password", "session"))))

    # --- files

    def path(self, name: str) -> Path:
        return self.folder / name

    def use_directory(self, db: Path):
        """From now on the command (PWDIR_DB) and the service pwtest use the directory DB."""
        self.db = db
        self.env["PWDIR_DB"] = str(db)
        self.write_service()

    def module_args(self, extra: str = "", db: Path = None) -> str:
        words = ["db=%s" % (db or self.db), "config=%s" % self.conf, "nodelay", self.module_extra, extra]
        return " ".join(w for w in words if w)

    def write_service(self, name: str = "pwtest", extra: str = "", db: Path = None):
        """The service NAME: the module alone in every stack, with module_args(extra, db)."""
        self.write_service_lines(name, ["%-8s required %s %s" % (stack, self.binaries.module, self.module_args(extra, db))
                                        for stack in ("auth", "account", "password", "session")])

    def write_service_lines(self, name: str, lines):
        (self.svc / name).write_text(lines_of(*lines))

    def write_conf(self, *lines):
        """The settings LINES, and accounts published in the world's own userdb folder (never the
        system's /run/userdb) unless LINES choose one."""
        if not any(str(line).startswith("userdb_dir") for line in lines):
            lines = (*lines, "userdb_dir = %s" % self.userdb)
        self.conf.write_text(lines_of(*lines))

    def mail_conf(self, *lines):
        """Settings that send mail through msmtp to this test's SMTP server, then LINES."""
        assert self.smtp is not None, "mail_conf needs the smtp fixture"
        self.write_conf("sendmail = %s -C %s -t" % (MSMTP, self.smtp.msmtprc), "mail_from = " + MAIL_FROM, *lines)

    def recovery_conf(self, *lines):
        """mail_conf with self-service recovery on (unless LINES say otherwise), then LINES."""
        said = any(re.match(r"recovery *=", line) for line in lines)
        self.mail_conf(*([] if said else ["recovery = yes"]), *lines)

    def snapshot(self) -> bytes:
        """The directory's bytes: `users`, and in format 2 every shard file it names after it."""
        return directory_bytes(self.db)

    def assert_unchanged(self, before: bytes, what: str):
        assert self.snapshot() == before, "%s changed the directory" % what

    def secret(self, *values):
        """Values that must never show in an audit trail."""
        self.secrets.update(v for v in values if v)

    # --- the command

    def pw(self, *args, stdin=None, sudo_user: str = None, env: dict = None) -> Run:
        """`pwdir ARGS` in this world; SUDO_USER stands for sudo."""
        environment = dict(self.env, **(env or {}))
        if sudo_user is not None:
            environment["SUDO_USER"] = sudo_user
        return run([self.binaries.pwdir, *args], env=environment, stdin=stdin)

    def pw_ok(self, *args, **kwargs) -> Run:
        result = self.pw(*args, **kwargs)
        assert result.ok, "pwdir %s failed:\n%s" % (shlex.join(map(str, args)), result)
        return result

    def expect_clean_error(self, *args, **kwargs) -> Run:
        """`pwdir ARGS` fails with exactly one line on stderr, starting "pwdir: "."""
        result = self.pw(*args, **kwargs)
        assert not result.ok, "pwdir %s succeeded:\n%s" % (shlex.join(args), result)
        assert_one_error_line(result)
        return result

    def init(self, *args):
        """`pwdir init ARGS` (format 2 unless ARGS say --format 1)."""
        self.pw_ok("init", *args)

    def user_with_password(self, name: str, password: str, *add_options):
        """NAME added (with ADD_OPTIONS), PASSWORD set, no forced change."""
        self.pw_ok("user", "add", name, *add_options)
        self.pw_ok("passwd", name, "--stdin", "--no-force-change", stdin=lines_of(password))
        self.secret(password)

    def show(self, name: str) -> dict:
        """`pwdir user show NAME --json`."""
        return json.loads(self.pw_ok("user", "show", name, "--json").out)

    # --- the module

    def pam_env(self, **extra) -> dict:
        return dict(self.env, LD_PRELOAD="libpam_wrapper.so", PAM_WRAPPER="1",
                    PAM_WRAPPER_SERVICE_DIR=str(self.svc), **extra)

    def pam(self, user: str, *ops, answers=(), service: str = None, debug: bool = False,
            env: dict = None, as_nobody: bool = False, quiet: bool = False) -> Run:
        """pamtester SERVICE USER OPS (authenticate if none) under pam_wrapper; ANSWERS are its
        stdin, one a line (None: /dev/null). DEBUG: pam_wrapper's debug output, with the module's
        syslog lines. AS_NOBODY: with real and effective uid/gid 65534."""
        argv = ["pamtester", service or self.service, user, *(ops or ["authenticate"])]
        wrapper = self.pam_env(**(env or {}), **({"PAM_WRAPPER_DEBUGLEVEL": "4"} if debug else {}))
        environment = wrapper
        if as_nobody:  # setpriv itself runs without the preload
            environment = dict(self.env, **(env or {}))
            extra = ["%s=%s" % (k, v) for k, v in wrapper.items() if environment.get(k) != v]
            argv = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups", "env", *extra, *argv]
        return run(argv, env=environment, stdin=None if answers is None else lines_of(*answers), quiet=quiet)

    def login_ok(self, user: str, password: str, *ops, service: str = None) -> Run:
        """OPS (authenticate if none) must succeed with PASSWORD."""
        result = self.pam(user, *ops, answers=[password], service=service)
        assert result.ok, "%s of %s with %r failed:\n%s" % (" ".join(ops or ["authenticate"]), user, password, result)
        return result

    def login_refused(self, user: str, password: str, *ops, service: str = None, debug: bool = False) -> Run:
        """OPS (authenticate if none) must fail with PASSWORD."""
        result = self.pam(user, *ops, answers=[password], service=service, debug=debug)
        assert not result.ok, "%s of %s with %r succeeded:\n%s" % (" ".join(ops or ["authenticate"]), user, password, result)
        return result

    def must_change(self, user: str, password: str):
        """USER logs in with PASSWORD, but acct_mgmt demands a new one."""
        self.login_ok(user, password)
        result = self.pam(user, "authenticate", "acct_mgmt", answers=[password])
        assert not result.ok, "acct_mgmt accepted %s's password, which must be changed:\n%s" % (user, result)
        assert "Authentication token is no longer valid; new one required" in result.output, str(result)

    def pam_parallel(self, calls) -> list:
        """Runs every (USER, ANSWERS) call of pamtester authenticate at once; their Runs, in order."""
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            return list(pool.map(lambda call: self.pam(call[0], answers=call[1], quiet=True), calls))

    def at_terminal(self, user: str, *ops) -> "Conversation":
        """pamtester OPS (authenticate if none) at a terminal, answered prompt by prompt."""
        conversation = Conversation(["pamtester", self.service, user, *(ops or ["authenticate"])], self.pam_env())
        self.conversations.append(conversation)
        return conversation

    def try_code(self, user: str, code: str, new: str = "Never-Used-Pass-77") -> Run:
        """One recovery in one pamtester run, answers on stdin: an empty password, CODE, NEW twice."""
        return self.pam(user, answers=["", code, new, new])

    def start_recovery(self, user: str, address: str):
        """pamtester at a terminal, its password prompt answered with nothing (recovery starts),
        waiting at "Recovery code: "; returns it and the new code mailed to ADDRESS."""
        n = self.smtp.mailbox.count(address, "code") + 1
        conversation = self.at_terminal(user)
        conversation.answer("Password: ", "")
        return conversation, self.smtp.mailbox.next_code(address, n)

    def recover_at_prompt(self, user: str, address: str, new: str):
        """The whole self-service recovery at a terminal, which must succeed: an empty password,
        the code mailed to ADDRESS (read from the mail while pamtester waits at its prompt), NEW
        twice. Returns the code and the transcript (a Run)."""
        conversation, code = self.start_recovery(user, address)
        conversation.answer("Recovery code: ", code)
        conversation.answer("New password: ", new)
        conversation.answer("Retype new password: ", new)
        result = conversation.finish()
        self.secret(new)
        assert result.ok, "recovery of %s with the mailed code %s failed:\n%s" % (user, code, result)
        assert "successfully authenticated" in result.output, "recovery of %s: pamtester did not report success" % user
        return code, result

    def wait_for_helpers(self, seconds: float = 5.0) -> list:
        """Waits until no recovery helper works on this world; those still running after SECONDS."""
        return wait_for_recovery_helpers(self.folder, seconds)


def recovery_helpers(folder: Path) -> list:
    """"PID: command line" of each `pwdir recovery-…` helper at work on files under FOLDER (the
    module starts them with --db and --config)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path("/proc", pid, "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if "pwdir recovery-" in cmdline and str(folder) + "/" in cmdline:
            found.append("%s: %s" % (pid, cmdline))
    return found


def wait_for_recovery_helpers(folder: Path, seconds: float) -> list:
    """Waits until no recovery helper works under FOLDER; those still running after SECONDS."""
    deadline = time.monotonic() + seconds
    while (left := recovery_helpers(folder)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


def assert_one_error_line(result: Run):
    """A command's refusal: exactly one line on stderr, starting "pwdir: "."""
    assert result.err.count("\n") == 1 and result.err.endswith("\n"), \
        "not one line on stderr:\n%s" % result
    assert result.err.startswith("pwdir: "), "the error does not start with 'pwdir: ':\n%s" % result


def syslog_lines(result: Run) -> list:
    """The module's syslog lines in a pamtester run with debug=True (pam_wrapper prints them)."""
    return [line for line in result.output.splitlines() if "SYSLOG(" in line]


class Conversation:
    """A PAM program at a terminal (a pty, through pexpect), answered prompt by prompt: each
    answer is typed once its prompt is shown (libpam's text conversation drops what was typed
    before the prompt)."""

    PROMPTS = ["Password: ", "Recovery code: ", "Verification code: ", "New password: ", "Retype new password: ",
               "Current password: "]

    def __init__(self, argv, env):
        self.argv = argv
        self.transcript = io.StringIO()
        self.child = pexpect.spawn(argv[0], argv[1:], env=env, encoding="utf-8", codec_errors="replace", timeout=30)
        self.child.logfile_read = self.transcript

    def answer(self, prompt: str, text: str):
        """PROMPT must come next; TEXT answers it."""
        try:
            self.child.expect_exact(prompt)
        except (pexpect.EOF, pexpect.TIMEOUT):
            raise AssertionError("no prompt %r from %s; it said: %r"
                                 % (prompt, shlex.join(self.argv), self.transcript.getvalue())) from None
        self.child.sendline(text)

    def finish(self, **later) -> Run:
        """Every further prompt is answered from LATER (the prompt's words as a keyword, _ for
        spaces: New_password="…"), any other with end of input; returns once the program ended."""
        answers = {key.replace("_", " ") + ": ": value for key, value in later.items()}
        for _ in range(10):
            index = self.child.expect_exact([*self.PROMPTS, pexpect.EOF])
            if index == len(self.PROMPTS):
                break
            prompt = self.PROMPTS[index]
            if prompt in answers:
                self.child.sendline(answers[prompt])
            else:
                self.child.sendeof()
        self.child.close()
        rc = self.child.exitstatus if self.child.exitstatus is not None else 128 + (self.child.signalstatus or 0)
        result = Run(self.argv, rc, self.transcript.getvalue().replace("\r\n", "\n"), "")
        print("(at a terminal)", result)
        return result

    def close(self):
        if self.child.isalive():
            self.child.terminate(force=True)


# ---------------------------------------------------------------------------------------------
# Mail: a real SMTP server on loopback and what it received

CODE = re.compile(r"\b[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}\b")
PASSWORD_LINE = re.compile(r"^\s*(?:Temporary password|Mot de passe temporaire)\s*:\s*(\S+)\s*$|^password=(\S+)$", re.M)


def password_in(body: str):
    """The password of a credentials mail: the one password line of BODY, else None."""
    found = [a or b for a, b in PASSWORD_LINE.findall(body or "")]
    return found[0] if len(found) == 1 else None


@dataclass
class Mail:
    """One message the SMTP server accepted, as Python's email package reads it (RFC 2047
    subjects and quoted-printable bodies decoded by it, not by us)."""

    raw: bytes
    mail_from: str  # the envelope's
    rcpt: list  # the envelope's recipients

    def __post_init__(self):
        self.message = email.message_from_bytes(self.raw, policy=email.policy.default)
        as_sent = email.message_from_bytes(self.raw)  # compat32: header values as sent (encoded words)
        self.to = str(self.message["To"])
        self.sender = str(self.message["From"])
        self.subject = str(self.message["Subject"])
        self.raw_subject = as_sent["Subject"]
        self.cc = self.message.get_all("Cc")
        self.bcc = self.message.get_all("Bcc")
        self.content_type = self.message.get_content_type()
        self.charset = self.message.get_content_charset()
        self.cte = str(self.message["Content-Transfer-Encoding"])
        part = self.message.get_body(preferencelist=("plain",))
        self.body = part.get_content() if part is not None else ""
        self.raw_body = self.raw.split(b"\n\n", 1)[1].decode("ascii", "replace") if b"\n\n" in self.raw else ""
        self.ascii = all(b < 128 for b in self.raw)
        self.kind, self.value = self.classify()

    def classify(self):
        """("code", the recovery code) | ("password", a credentials mail's password) |
        ("changed", None): the password-changed notice | ("other", None)."""
        subject = self.subject.lower()
        code = CODE.search(self.body)
        if code and ("recovery" in subject or "récupération" in subject):
            return "code", code.group(0)
        password = password_in(self.body)
        if password:
            return "password", password
        if "changed" in subject or "changé" in subject:
            return "changed", None
        return "other", None

    def __str__(self):
        return "%s [%s] %s" % (self.to, self.kind, self.subject)

    __repr__ = __str__


class Mailbox:
    """What one SMTP server received, in the order it arrived (an aiosmtpd handler). Codes and
    passwords that arrive are secrets: never to be seen in an audit trail."""

    def __init__(self, secrets: set):
        self.secrets = secrets
        self.lock = threading.Lock()
        self.mails = []

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        mail = Mail(raw.replace(b"\r\n", b"\n"), envelope.mail_from, list(envelope.rcpt_tos))
        with self.lock:
            self.mails.append(mail)
            if mail.value:
                self.secrets.update({mail.value, mail.value.replace("-", "")})
        return "250 Message accepted for delivery"

    def all(self, to: str = None, kind: str = None) -> list:
        with self.lock:
            return [m for m in self.mails if (to is None or m.to == to) and (kind is None or m.kind == kind)]

    def count(self, to: str = None, kind: str = None) -> int:
        return len(self.all(to, kind))

    def set_aside(self):
        """Forgets what arrived so far (counts start again from zero)."""
        with self.lock:
            self.mails.clear()

    def wait(self, to: str, kind: str, n: int, seconds: float = 10) -> bool:
        """Waits until N such mails arrived; False if they did not within SECONDS."""
        deadline = time.monotonic() + seconds
        while self.count(to, kind) < n:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def last_value(self, to: str, kind: str):
        found = self.all(to, kind)
        return found[-1].value if found else None

    def next_code(self, to: str, n: int) -> str:
        """The code of the Nth recovery-code mail to TO, once it arrived (10 s at most)."""
        assert self.wait(to, "code", n), "no recovery code mail #%d reached %s (mails: %s)" % (n, to, self.all())
        return self.last_value(to, "code")

    def password_for(self, address: str) -> str:
        """The password in the one mail received for ADDRESS."""
        mails = self.all(to=address)
        assert len(mails) == 1, "%d mails to %s (mails: %s)" % (len(mails), address, self.all())
        password = password_in(mails[0].body)
        assert password, "no single password line in the mail to %s: %r" % (address, mails[0].body)
        return password


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accepts_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class MailServer:
    """A real SMTP server (aiosmtpd, in this process) on a free loopback port, storing into
    `mailbox`, and an msmtp configuration `msmtprc` (mode 0600) pointing at it."""

    def __init__(self, folder: Path, secrets: set):
        self.mailbox = Mailbox(secrets)
        for attempt in range(5):  # a free port can be taken between looking and binding
            self.port = free_port()
            self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port,
                                         ready_timeout=15, enable_SMTPUTF8=False)
            try:
                self.controller.start()
                break
            except OSError:
                if attempt == 4:
                    raise
        self.running = True
        self.msmtprc = folder / "msmtprc"
        fd = os.open(self.msmtprc, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, lines_of("account default", "host 127.0.0.1", "port %d" % self.port,
                              "from " + MAIL_FROM, "auth off", "tls off").encode())
        os.close(fd)
        print("SMTP server on 127.0.0.1:%d" % self.port)

    def stop(self):
        if self.running:
            self.controller.stop()
            self.running = False


# ---------------------------------------------------------------------------------------------
# Directory files made by hand


def write_directory_file(path: Path, user_lines):
    """A directory file holding USER_LINES (as given: sorted or not, duplicates or not) between
    the format's header and its trailer; mode 0600; replaces PATH atomically."""
    body = "".join(line + "\n" for line in user_lines)
    temp = Path(str(path) + ".new")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(("pwdir-directory 1\n%s#end users=%d\n" % (body, len(user_lines))).encode())
    os.chmod(temp, 0o600)
    os.rename(temp, path)


def shard_names(db: Path) -> list:
    """The shard files a directory of format 2 names (none for format 1 or a broken `users`)."""
    data = db.read_bytes()
    lines = data.split(b"\n")
    if not data.startswith(b"pwdir-directory 2\n") or len(lines) != 260:
        return []
    return [n.decode() for n in lines[2:258]]


def directory_bytes(db: Path) -> bytes:
    """`users`, then (format 2) the shards it names, in its order: the whole directory's text."""
    names = shard_names(db)
    folder = Path(str(db) + ".d")
    return db.read_bytes() + b"".join((folder / n).read_bytes() for n in names if (folder / n).exists())


def shard_file(db: Path, login: str) -> Path:
    """The shard file holding LOGIN in a directory of format 2 (DirectoryManifest.shard(of:))."""
    h = 0xCBF29CE484222325
    for b in login.encode():
        if 65 <= b <= 90:
            b |= 0x20
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    k = (h ^ (h >> 32)) & 255
    return Path(str(db) + ".d") / shard_names(db)[k]


def password_hash_field(directory: bytes) -> str:
    """The first `userPassword=…` attribute in a directory file."""
    found = re.search(rb"userPassword=[^\t\n]*", directory)
    assert found, "no userPassword in the directory"
    return found.group(0).decode()


# ---------------------------------------------------------------------------------------------
# A private mount namespace, for what pam_wrapper cannot reach


class Namespace:
    """A private mount namespace held open by a sleeping process: `run()` enters it (nsenter) for
    each command, so a test sets up mounts once and then drives programs one by one. Mounts made
    in it never reach the real system; it goes away with `close()`."""

    def __init__(self):
        self.holder = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sleep", "infinity"])
        deadline = time.time() + 5
        own = os.readlink("/proc/self/ns/mnt")
        while os.readlink("/proc/%d/ns/mnt" % self.holder.pid) == own:
            assert time.time() < deadline, "unshare did not make a mount namespace"
            time.sleep(0.01)

    def run(self, argv, env=None, *, stdin=None, timeout=COMMAND_TIMEOUT, quiet=False) -> Run:
        """ARGV inside the namespace (as root; use setpriv in ARGV to become someone else). A
        preload in ENV is set inside (by env), so nsenter itself never carries it."""
        env = dict(env or base_environment())
        preload = ["env", "LD_PRELOAD=" + env.pop("LD_PRELOAD")] if "LD_PRELOAD" in env else []
        return run(["nsenter", "--mount=/proc/%d/ns/mnt" % self.holder.pid, "--", *preload, *map(str, argv)],
                   env=env, stdin=stdin, timeout=timeout, quiet=quiet)

    def sh(self, script: str, *args, **kwargs) -> Run:
        """A shell script inside the namespace ($1... are ARGS); fails the test when it fails."""
        result = self.run(["/bin/sh", "-euc", script, "sh", *args], **kwargs)
        assert result.ok, "in the namespace, %s failed: %s" % (script.strip().splitlines()[0], result)
        return result

    def close(self):
        self.holder.kill()
        self.holder.wait()
