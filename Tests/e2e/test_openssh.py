"""pwdir behind a real OpenSSH server. Each test starts its own sshd (UsePAM yes) on a loopback
port with its own sshd_config and host key; sshd loads pam_pwdir.so through pam_wrapper (the
service `sshd` in the world's service folder) and a real `ssh` client logs in at a terminal
(pexpect). sshd runs in a private mount namespace where /etc/passwd, /etc/group and /etc/shadow
are scratch copies that also hold the test user (pwdir keeps passwords, not accounts: sshd needs
getpwnam), and /run (the privilege separation folder /run/sshd, utmp) and /var/log (wtmp, btmp,
lastlog) are scratch folders: nothing of the real system is touched.

What is shown: keyboard-interactive authentication carries the whole PAM conversation, so a
temporary password is changed within the login (with or without a tty, also for scp), failed
logins lock the account and the user is told, and self-service recovery works at the ssh
prompt. The password method cannot converse: sshd runs passwd(1) after the login, which changes
a pwdir password only when pwdir is in common-password (and only at a terminal); a locked user
is not told why; an empty password never reaches PAM, so there is no recovery. A key login
skips the password but not PAM's account stack: a locked account is refused. Every file the
module makes meanwhile, inside passwd(1) too, is root's.

Needs openssh-server and openssh-client (Debian packages).
"""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from pwdir_e2e import (Conversation, Namespace, Run, accepts_connections, base_environment, free_port,
                       lines_of, run)

SSHD = "/usr/sbin/sshd"
SSH = "/usr/bin/ssh"
SCP = "/usr/bin/scp"
KEYGEN = "/usr/bin/ssh-keygen"
MKHOMEDIR = next(iter(sorted(glob.glob("/lib/*/security/pam_mkhomedir.so") + glob.glob("/usr/lib/*/security/pam_mkhomedir.so"))), "pam_mkhomedir.so")
PAM_WRAPPER_LIB = next(iter(sorted(glob.glob("/usr/lib/*/libpam_wrapper.so"))), "libpam_wrapper.so")
TEST_UID = 42001  # the test user's uid and gid, in the namespace's scratch passwd and group only

# What the session prints: who runs it, where, and whether it has a terminal.
WHOAMI = 'echo "session of $(id -un) in $PWD, tty: $(tty)"'


@pytest.fixture(autouse=True, scope="module")
def openssh_installed():
    """These tests fail (they are not skipped) where OpenSSH is missing: make deps installs it."""
    missing = [path for path in (SSHD, SSH, SCP, KEYGEN) if not os.access(path, os.X_OK)]
    if missing:
        pytest.fail("missing %s: apt-get install openssh-server openssh-client" % ", ".join(missing), pytrace=False)


def openssh_version() -> tuple:
    """(major, minor) of the installed OpenSSH, from `ssh -V` ("OpenSSH_9.2p1 ...")."""
    said = run([SSH, "-V"], env=base_environment(), quiet=True).output
    found = re.search(r"OpenSSH_(\d+)\.(\d+)", said)
    assert found, "cannot read OpenSSH's version from %r" % said
    return int(found.group(1)), int(found.group(2))


class SshHost:
    """A real sshd for one test, with what it needs around it: a folder `ssh/` in the world
    (sshd_config, host key, known_hosts, sshd's log, the user's home, the scratch /etc files)
    and a private mount namespace where those scratch files stand in for the real ones.

    The PAM service is the world's `sshd` (pam_pwdir.so alone in every stack, as
    World.write_service writes it), rewritten before every connection so it follows the world's
    module arguments. `password_method`: sshd with PasswordAuthentication yes and
    KbdInteractiveAuthentication no; otherwise the other way round. `keys`: public keys too, from
    `authorized_keys` in the folder, which holds the key `client_key`."""

    def __init__(self, world, user: str = "ana", password_method: bool = False, keys: bool = False,
                 system_account: bool = True):
        self.world = world
        self.user = user
        self.system_account = system_account
        self.password_method = password_method
        self.keys = keys
        self.folder = world.folder / "ssh"
        self.folder.mkdir()
        self.home = self.folder / "home" / user
        self.port = None
        self.process = None
        self.namespace = None
        self.log = self.folder / "sshd.log"

    # --- the host

    def start(self) -> "SshHost":
        self._scratch_system()
        self.namespace = Namespace()
        etc = self.folder / "etc"
        self.namespace.sh("""
            mount --bind {etc}/passwd /etc/passwd
            mount --bind {etc}/group /etc/group
            mount --bind {etc}/shadow /etc/shadow
            mount --bind {run} /run
            mount --bind {log} /var/log
        """.format(etc=etc, run=self.folder / "run", log=self.folder / "log"))
        self._host_key()
        self.write_service()
        for attempt in range(3):  # a free port can be taken between looking and binding
            if self._listen():
                break
            assert attempt < 2 and "Address already in use" in self.log.read_text(), \
                "sshd stopped at once:\n%s" % self.log.read_text()
        print("sshd on 127.0.0.1:%d (pid %d), log %s" % (self.port, self.process.pid, self.log))
        return self

    def _listen(self) -> bool:
        """sshd started on a free port; False if it stopped at once."""
        self.port = free_port()
        self.config = self.folder / "sshd_config"
        self.config.write_text(lines_of(*self.config_lines()))
        self.config.chmod(0o600)
        checked = self.namespace.run([SSHD, "-t", "-f", self.config])
        assert checked.ok, "sshd refuses its configuration:\n%s" % checked
        wrapper = {k: v for k, v in self.world.pam_env().items() if k.startswith("PAM_WRAPPER")}
        # by its path: passwd(1), setuid, inherits sshd's environment and would print that it
        # cannot preload a bare name
        wrapper["LD_PRELOAD"] = PAM_WRAPPER_LIB
        # env sets the preload for sshd only (not for nsenter); sshd re-executes itself per
        # connection with this environment, so every connection loads pam_wrapper afresh
        argv = ["nsenter", "--mount=/proc/%d/ns/mnt" % self.namespace.holder.pid, "--",
                "env", *("%s=%s" % item for item in sorted(wrapper.items())),
                SSHD, "-D", "-e", "-f", str(self.config)]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                            env=base_environment())
        deadline = time.monotonic() + 10
        while not accepts_connections(self.port):
            if self.process.poll() is not None:
                return False
            assert time.monotonic() < deadline, "sshd does not listen on port %d:\n%s" % (self.port, self.log.read_text())
            time.sleep(0.02)
        return True

    def config_lines(self) -> list:
        """This host's sshd_config: loopback only, this test's user only, PAM, one way to
        authenticate (keyboard-interactive, or the password method)."""
        lines = [
            "ListenAddress 127.0.0.1",
            "Port %d" % self.port,
            "HostKey %s" % (self.folder / "host_key"),
            "PidFile %s" % (self.folder / "sshd.pid"),
            "AllowUsers %s" % self.user,
            "UsePAM yes",
            "KbdInteractiveAuthentication %s" % ("no" if self.password_method else "yes"),
            "PasswordAuthentication %s" % ("yes" if self.password_method else "no"),
            "PubkeyAuthentication %s" % ("yes" if self.keys else "no"),
            "AuthorizedKeysFile %s" % (self.folder / "authorized_keys" if self.keys else "none"),
            "StrictModes no",  # authorized_keys is under /tmp, which everyone may write
            "PermitRootLogin no",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            "X11Forwarding no",
            "AllowTcpForwarding no",
            "AllowAgentForwarding no",
            "Subsystem sftp internal-sftp",
            "LogLevel VERBOSE",
        ]
        if openssh_version() >= (9, 8):
            lines.append("PerSourcePenalties no")  # failed logins are what these tests make
        return lines

    def write_service(self):
        self.world.write_service("sshd")

    def _scratch_system(self):
        """The scratch /etc/passwd, /etc/group (the real ones plus the user), /etc/shadow (the
        user only, with a locked password, as the README advises), /run with an empty /run/sshd,
        /var/log, and the user's home."""
        user, uid = self.user, TEST_UID
        real_passwd = Path("/etc/passwd").read_text()
        real_group = Path("/etc/group").read_text()
        assert not re.search(r"^%s:" % re.escape(user), real_passwd, re.M), "%s is a real account here" % user
        assert not re.search(r"^[^:]*:[^:]*:%d:" % uid, real_passwd, re.M), "uid %d is taken here" % uid
        etc = self.folder / "etc"
        etc.mkdir()
        # without system_account, pwdir publishes the account (userdb) in the scratch /run
        (etc / "passwd").write_text(real_passwd + ("%s:x:%d:%d:pwdir e2e:%s:/bin/sh\n" % (user, uid, uid, self.home) if self.system_account else ""))
        (etc / "group").write_text(real_group + ("%s:x:%d:\n" % (user, uid) if self.system_account else ""))
        shadow = etc / "shadow"
        shadow.write_text("%s:!:20000:0:99999:7:::\n" % user if self.system_account else "")
        shadow.chmod(0o640)
        (self.folder / "run" / "sshd").mkdir(parents=True, mode=0o755)
        (self.folder / "log").mkdir(mode=0o755)
        self.home.mkdir(parents=True, mode=0o700)
        os.chown(self.home, uid, uid)

    def _host_key(self):
        self._new_key("host_key")
        if self.keys:
            self._new_key("client_key")
            (self.folder / "authorized_keys").write_text((self.folder / "client_key.pub").read_text())

    def _new_key(self, name: str):
        made = run([KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "pwdir-e2e", "-f", self.folder / name],
                   env=base_environment())
        assert made.ok, str(made)

    def pam_in_passwd(self):
        """In the namespace, /etc/pam.d/common-password as pam-auth-update makes it with pwdir's
        profile (pam/pam-auth-update/pwdir) above pam_unix: passwd(1) changes pwdir passwords."""
        scratch = self.folder / "etc" / "common-password"
        scratch.write_text(lines_of(
            "password [success=2 user_unknown=ignore ignore=ignore default=die] %s %s"
            % (self.world.binaries.module, self.world.module_args()),
            "password [success=1 default=ignore] pam_unix.so obscure use_authtok try_first_pass yescrypt",
            "password requisite pam_deny.so",
            "password required pam_permit.so"))
        self.namespace.sh("mount --bind %s /etc/pam.d/common-password" % scratch)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        if self.namespace is not None:
            # connections still open (a test that failed half-way) are sshd processes in the namespace
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            self.namespace.close()
            self.namespace = None
        self._remove_wrapper_leftovers()

    def _remove_wrapper_leftovers(self):
        """pam_wrapper copies the service folder into /tmp/pam.? for each process that starts PAM
        and removes it at exit(); sshd ends a connection with _exit(), which leaves it there.
        Removed: those holding this world's services whose process is gone."""
        for folder in map(Path, glob.glob("/tmp/pam.?")):
            try:
                if folder.is_symlink() or str(self.world.folder) + "/" not in (folder / "sshd").read_text():
                    continue
                pid = int((folder / "pid").read_text())
            except (OSError, ValueError):
                continue
            if not Path("/proc/%d" % pid).exists():
                shutil.rmtree(folder, ignore_errors=True)

    def pids(self) -> list:
        """The processes in sshd's namespace (sshd and what it started), but the one holding it."""
        mine = os.readlink("/proc/%d/ns/mnt" % self.namespace.holder.pid)
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if int(pid) != self.namespace.holder.pid and os.readlink("/proc/%s/ns/mnt" % pid) == mine:
                    found.append(int(pid))
            except OSError:
                pass  # ended meanwhile
        return found

    def process_named(self, name: str) -> dict:
        """The one process called NAME in sshd's namespace: its pid, effective uid and gid."""
        found = []
        for pid in self.pids():
            try:
                if Path("/proc/%d/comm" % pid).read_text().strip() != name:
                    continue
                status = dict(line.split(":", 1) for line in Path("/proc/%d/status" % pid).read_text().splitlines())
            except OSError:
                continue
            found.append({"pid": pid, "euid": int(status["Uid"].split()[1]), "egid": int(status["Gid"].split()[1])})
        assert len(found) == 1, "%d processes called %s in sshd's namespace" % (len(found), name)
        return found[0]

    # --- the client

    def client_options(self, method: str = None, prompts: int = 1) -> list:
        """ssh options that leave out the machine's and root's ssh settings: no config file,
        known_hosts in the scratch folder holding this host's key (checked strictly), no agent,
        no keys, one authentication method, PROMPTS password prompts."""
        known = self.folder / "known_hosts"
        known.write_text("[127.0.0.1]:%d %s" % (self.port, (self.folder / "host_key.pub").read_text()))
        method = method or ("password" if self.password_method else "keyboard-interactive")
        key = method == "publickey"
        options = {
            "UserKnownHostsFile": known, "GlobalKnownHostsFile": "/dev/null", "StrictHostKeyChecking": "yes",
            "UpdateHostKeys": "no", "IdentityAgent": "none", "IdentitiesOnly": "yes",
            "IdentityFile": self.folder / "client_key" if key else "/dev/null",
            "PubkeyAuthentication": "yes" if key else "no", "GSSAPIAuthentication": "no", "HostbasedAuthentication": "no",
            "PreferredAuthentications": method, "NumberOfPasswordPrompts": prompts, "BatchMode": "no",
            "ControlMaster": "no", "ControlPath": "none", "ConnectTimeout": 10,
        }
        return ["-F", "/dev/null", *(word for key, value in options.items() for word in ("-o", "%s=%s" % (key, value)))]

    def client_env(self) -> dict:
        env = {k: v for k, v in base_environment().items() if not k.startswith(("SSH_", "DISPLAY"))}
        env["SSH_ASKPASS_REQUIRE"] = "never"
        return env

    def ssh(self, command: str = WHOAMI, *, tty: bool, method: str = None, prompts: int = 1) -> Conversation:
        """`ssh [-t|-T] USER@127.0.0.1 COMMAND` at a terminal (the client's own prompts need one);
        -t asks a terminal on the server too."""
        self.write_service()
        argv = [SSH, *self.client_options(method, prompts), "-p", str(self.port), "-t" if tty else "-T",
                "%s@127.0.0.1" % self.user, command]
        conversation = Conversation(argv, self.client_env())
        self.world.conversations.append(conversation)
        return conversation

    def scp_from(self, remote: str, local: Path) -> Conversation:
        """`scp USER@127.0.0.1:REMOTE LOCAL` at a terminal."""
        self.write_service()
        argv = [SCP, *self.client_options(), "-P", str(self.port), "%s@127.0.0.1:%s" % (self.user, remote), str(local)]
        conversation = Conversation(argv, self.client_env())
        self.world.conversations.append(conversation)
        return conversation

    def login(self, password: str, command: str = WHOAMI, *, tty: bool = True) -> Run:
        """One login that must run COMMAND without asking anything but PASSWORD."""
        conversation = self.ssh(command, tty=tty)
        conversation.answer(self.password_prompt(), password)
        result = conversation.finish()
        assert result.ok, "%s could not log in over ssh with %r:\n%s" % (self.user, password, result)
        assert "session of %s" % self.user in result.output, "the command did not run:\n%s" % result
        assert "New password" not in result.output, "a password change was asked again:\n%s" % result
        return result

    def refused(self, *passwords) -> Run:
        """One connection where each of PASSWORDS is typed at a password prompt; sshd must refuse
        them all (ssh ends with 255, "Permission denied") and run nothing."""
        conversation = self.ssh(tty=True, prompts=len(passwords))
        for password in passwords:
            conversation.answer(self.password_prompt(), password)
        result = conversation.finish()
        assert result.rc == 255 and "Permission denied" in result.output, \
            "%s was not refused over ssh with %r:\n%s" % (self.user, passwords, result)
        assert "session of" not in result.output, "a session ran:\n%s" % result
        return result

    def password_prompt(self) -> str:
        # keyboard-interactive shows the module's prompt ("(ana@127.0.0.1) Password: "); the
        # password method shows the client's own
        return "%s@127.0.0.1's password: " % self.user if self.password_method else "Password: "


@pytest.fixture
def sshd(world):
    """sshd(password_method=False, keys=False, user="ana"): a started SshHost for this world;
    stopped at the end."""
    hosts = []

    def start(**options):
        host = SshHost(world, **options)
        hosts.append(host)
        return host.start()
    yield start
    for host in hosts:
        host.stop()


def temporary_password(world, user: str = "ana") -> str:
    """USER added, with a generated password that must be changed at the next login."""
    world.pw_ok("user", "add", user)
    password = world.pw_ok("passwd", user, "--generate").out.strip().splitlines()[-1]
    world.secret(password)
    assert world.show(user)["mustChangePassword"], "a generated password is not a temporary one"
    return password


def assert_root_owned(world):
    """Every file of the directory (users and its backup, lock and other companions, the shard
    folder and each shard), the tally folder and each tally, and the audit log: root's, group
    root, whatever process made them."""
    tallies = Path(str(world.db) + ".tally")
    assert (world.folder / "audit.log").is_file() and tallies.is_dir(), "no audit log or no tally folder"
    files = [p for p in world.folder.iterdir() if p.name.startswith("users") or p.name == "audit.log"]
    files += list(tallies.iterdir())
    shards = Path(str(world.db) + ".d")
    if shards.is_dir():
        files += list(shards.iterdir())
    wrong = ["%s %d:%d" % (p, p.lstat().st_uid, p.lstat().st_gid) for p in files
             if (p.lstat().st_uid, p.lstat().st_gid) != (0, 0)]
    assert not wrong, "files not root:root: %s" % wrong


# ---------------------------------------------------------------------------------------------
# keyboard-interactive: the whole PAM conversation within the login


def test_temporary_password_changed_within_the_login(world, sshd):
    """KbdInteractiveAuthentication: a temporary password logs in, the module asks a new one
    twice in the same login (sshd's PAM child runs pam_chauthtok with PAM_CHANGE_EXPIRED_AUTHTOK,
    no current password asked again), then the command runs at a terminal; the next login with
    the new password asks nothing else; the temporary one no longer works."""
    world.init()
    temporary = temporary_password(world)
    host = sshd()
    new = "Blue-Heron-Sings-7"
    world.secret(new)
    conversation = host.ssh(tty=True)
    conversation.answer("Password: ", temporary)
    conversation.answer("New password: ", new)
    conversation.answer("Retype new password: ", new)
    result = conversation.finish()
    assert result.ok, "the login with a password change failed:\n%s" % result
    assert "You must change your password now" in result.output, "the user was not told why:\n%s" % result
    assert "Current password" not in result.output, "the password just typed was asked again:\n%s" % result
    assert re.search(r"session of ana in %s, tty: /dev/pts/\d+" % re.escape(str(host.home)), result.output), \
        "the command did not run at a terminal in ana's home:\n%s" % result
    assert not world.show("ana")["mustChangePassword"], "the change was not recorded"
    host.login(new)
    host.refused(temporary)
    assert_root_owned(world)


def test_temporary_password_changed_without_tty(world, sshd, tmp_path):
    """`ssh host cmd` with no terminal on the server (-T) and scp: keyboard-interactive does the
    forced change during authentication, before any session, so it needs no remote terminal;
    the command runs (without a tty), scp copies its file, and both changed passwords work."""
    world.init()
    temporary = temporary_password(world)
    host = sshd()
    new = "Quiet-Otter-Swims-3"
    world.secret(new)
    conversation = host.ssh(tty=False)
    conversation.answer("Password: ", temporary)
    conversation.answer("New password: ", new)
    conversation.answer("Retype new password: ", new)
    result = conversation.finish()
    assert result.ok, "ssh host cmd with a password change failed:\n%s" % result
    assert "session of ana in %s, tty: not a tty" % host.home in result.output, \
        "the command did not run without a tty:\n%s" % result
    assert not world.show("ana")["mustChangePassword"], "the change was not recorded"
    host.login(new, tty=False)

    # scp (the SFTP protocol since OpenSSH 9.0) after the administrator set a new temporary password
    (host.home / "report.txt").write_text("quarterly figures\n")
    second = world.pw_ok("passwd", "ana", "--generate").out.strip().splitlines()[-1]
    world.secret(second)
    newer = "Green-Falcon-Dives-9"
    world.secret(newer)
    copied = tmp_path / "report.txt"
    conversation = host.scp_from("report.txt", copied)
    conversation.answer("Password: ", second)
    conversation.answer("New password: ", newer)
    conversation.answer("Retype new password: ", newer)
    result = conversation.finish()
    assert result.ok and copied.read_text() == "quarterly figures\n", "scp with a password change failed:\n%s" % result
    host.login(newer, tty=False)
    assert_root_owned(world)


def test_lockout_over_ssh(world, sshd):
    """deny = 3: three wrong passwords in one ssh connection (three prompts) are three failures
    and lock the account; then the right password is refused too and the user is told the
    account is locked; after `pwdir unlock` it logs in."""
    world.write_conf("deny = 3")
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    host = sshd()
    host.login("Right-Password-1")
    host.refused("Wrong-Password-1", "Wrong-Password-2", "Wrong-Password-3")
    shown = world.show("ana")
    assert shown["failures"] == 3 and shown["locked"], "after 3 failures over ssh: %s" % shown
    refused = host.refused("Right-Password-1")
    assert "This account is locked." in refused.output, "the user is not told why:\n%s" % refused
    world.pw_ok("unlock", "ana")
    host.login("Right-Password-1")
    assert world.show("ana")["failures"] == 0
    assert_root_owned(world)


def test_recovery_over_ssh(recovery_world, sshd, mailbox):
    """Self-service recovery at ssh's prompt: an empty password starts it (sshd passes
    PAM_DISALLOW_NULL_AUTHTOK, PermitEmptyPasswords being no; the module's pwdir helper mails a
    code), the code typed at "Recovery code: " and a new password twice log the
    user in within the same connection and the command runs; the next login uses the new
    password, the old one is refused, and a notice mail says the password was changed."""
    world = recovery_world
    world.recovery_conf("recovery_interval = 0")
    world.init()
    world.user_with_password("ana", "Forgotten-Pass-41", "--email", "ana@corp.example")
    host = sshd()
    new = "Found-Again-Pass-52"
    world.secret(new)
    conversation = host.ssh(tty=True)
    conversation.answer("Password: ", "")
    code = mailbox.next_code("ana@corp.example", 1)
    conversation.answer("Recovery code: ", code)
    conversation.answer("New password: ", new)
    conversation.answer("Retype new password: ", new)
    result = conversation.finish()
    assert result.ok, "recovery over ssh failed:\n%s" % result
    assert "a code has been sent to it" in result.output, "the user was not told a code was sent:\n%s" % result
    assert "session of ana" in result.output, "the command did not run:\n%s" % result
    host.login(new)
    host.refused("Forgotten-Pass-41")
    assert mailbox.wait("ana@corp.example", "changed", 1), "no 'password changed' notice: %s" % mailbox.all()
    assert world.wait_for_helpers() == [], "pwdir helpers still running"
    assert_root_owned(world)


# ---------------------------------------------------------------------------------------------
# The password method: sshd cannot converse, it runs passwd(1) after the login


def test_password_method_with_stock_common_password(world, sshd, tmp_path):
    """PasswordAuthentication yes, KbdInteractiveAuthentication no, Debian's own common-password
    (pam_unix only): the temporary password logs in, sshd says it has expired and runs
    passwd(1), which goes through /etc/pam.d/passwd, not the sshd service: pam_unix knows
    nothing of pwdir's password, the change fails, the command never runs and the password
    stays temporary. Without a terminal (`ssh host cmd`, scp) sshd does not even try: it says
    so and closes the connection."""
    world.init()
    temporary = temporary_password(world)
    host = sshd(password_method=True)
    conversation = host.ssh(tty=True)
    conversation.answer(host.password_prompt(), temporary)
    conversation.answer("Current password: ", temporary)
    result = conversation.finish()
    assert "WARNING: Your password has expired." in result.output, str(result)
    assert "You must change your password now and login again!" in result.output, str(result)
    assert "passwd: Authentication token manipulation error" in result.output, str(result)
    assert "session of" not in result.output and not result.ok, "the command ran:\n%s" % result
    assert world.show("ana")["mustChangePassword"], "the temporary password stopped being temporary"

    conversation = host.ssh(tty=False)
    conversation.answer(host.password_prompt(), temporary)
    result = conversation.finish()
    assert "Password change required but no TTY available." in result.output, str(result)
    assert "session of" not in result.output and not result.ok, "the command ran:\n%s" % result

    (host.home / "report.txt").write_text("quarterly figures\n")
    copied = tmp_path / "report.txt"
    conversation = host.scp_from("report.txt", copied)
    conversation.answer(host.password_prompt(), temporary)
    result = conversation.finish()
    assert not result.ok and not copied.exists(), "scp copied with a password that must be changed:\n%s" % result
    assert world.show("ana")["mustChangePassword"]


def test_password_method_with_pwdir_in_common_password(world, sshd):
    """PasswordAuthentication with pwdir in common-password (as pam-auth-update makes it): the
    temporary password logs in, sshd runs passwd(1) as the user, pwdir asks the current
    password (passwd(1) is another PAM handle) and the new one twice, and the connection ends
    ("login again"); the next login with the new password runs the command. passwd(1) is setuid
    root with the user's group: the tally and audit log the module creates there are still
    root:root."""
    world.init()
    temporary = temporary_password(world)
    host = sshd(password_method=True)
    host.pam_in_passwd()
    new = "Silver-Maple-Grows-5"
    world.secret(new)
    conversation = host.ssh(tty=True)
    conversation.answer(host.password_prompt(), temporary)
    conversation.child.expect_exact("Current password: ")
    passwd = host.process_named("passwd")
    assert (passwd["euid"], passwd["egid"]) == (0, TEST_UID), "passwd(1) does not run as root with ana's group: %s" % passwd
    # sshd's authentication is done; what is made from here on is made inside passwd(1)
    shutil.rmtree(str(world.db) + ".tally")
    (world.folder / "audit.log").unlink()
    conversation.child.sendline(temporary)
    conversation.answer("New password: ", new)
    conversation.answer("Retype new password: ", new)
    result = conversation.finish()
    assert "You must change your password now and login again!" in result.output, str(result)
    assert "password updated successfully" in result.output, str(result)
    assert "session of" not in result.output, "the command ran before the user logged in again:\n%s" % result
    made = [p.name for p in Path(str(world.db) + ".tally").iterdir()]
    actors = [json.loads(line)["actor"] for line in (world.folder / "audit.log").read_text().splitlines()]
    assert "ana" in made and "pam:passwd" in actors, \
        "passwd(1) did not make ana's tally (%s) or start a new audit log (%s)" % (made, actors)
    assert_root_owned(world)
    assert not world.show("ana")["mustChangePassword"], "the change was not recorded"
    host.login(new)
    host.refused(temporary)


def test_password_method_lockout(world, sshd):
    """The password method counts failures the same way (three wrong passwords in one
    connection lock the account with deny = 3), but sshd shows PAM's messages only after a
    successful login: the locked user is refused without being told why."""
    world.write_conf("deny = 3")
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    host = sshd(password_method=True)
    host.refused("Wrong-Password-1", "Wrong-Password-2", "Wrong-Password-3")
    shown = world.show("ana")
    assert shown["failures"] == 3 and shown["locked"], "after 3 failures over ssh: %s" % shown
    refused = host.refused("Right-Password-1")
    assert "locked" not in refused.output, "the password method showed a PAM message:\n%s" % refused
    world.pw_ok("unlock", "ana")
    host.login("Right-Password-1")


def test_password_method_has_no_recovery(recovery_world, sshd, mailbox):
    """With the password method an empty password never reaches PAM (sshd refuses it first,
    PermitEmptyPasswords being no): no recovery starts, no code is mailed."""
    world = recovery_world
    world.recovery_conf("recovery_interval = 0")
    world.init()
    world.user_with_password("ana", "Forgotten-Pass-41", "--email", "ana@corp.example")
    host = sshd(password_method=True)
    refused = host.refused("")
    assert "Recovery code" not in refused.output and "code has been sent" not in refused.output, str(refused)
    assert world.show("ana")["failures"] == 0, "the empty password reached the module"
    assert world.wait_for_helpers() == [], "pwdir helpers still running"
    world.pw_ok("recover", "ana")  # the help desk's way does mail a code: the mail path works
    assert mailbox.wait("ana@corp.example", "code", 1), "the help desk's code did not arrive"
    assert mailbox.count(kind="code") == 1, "the empty password over ssh mailed a code: %s" % mailbox.all()


# ---------------------------------------------------------------------------------------------
# Keys: no password asked, but PAM's account stack still runs


def test_key_login_still_obeys_the_account(world, sshd):
    """With UsePAM yes, sshd runs PAM's account stack after every method, public keys included:
    a key logs ana in without a password; after `pwdir lock` the key is refused too (the lock is
    the account's); after `pwdir unlock` it works again; after `pwdir passwd --expire` the key
    login is sent to passwd(1) as with the password method, and the command does not run."""
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    host = sshd(keys=True)

    def key_login(tty=True):
        conversation = host.ssh(tty=tty, method="publickey")
        return conversation.finish()
    result = key_login()
    assert result.ok and "session of ana" in result.output, "the key does not log in:\n%s" % result
    assert "assword" not in result.output, "a password was asked:\n%s" % result
    world.pw_ok("lock", "ana")
    result = key_login()
    assert result.rc == 255 and "session of" not in result.output, "a locked account logged in with a key:\n%s" % result
    assert "This account is locked." in result.output, "the user is not told why:\n%s" % result
    world.pw_ok("unlock", "ana")
    assert key_login().ok, "the key does not log in after unlock"
    world.pw_ok("passwd", "ana", "--expire")
    result = key_login()
    assert "WARNING: Your password has expired." in result.output, str(result)
    assert "session of" not in result.output and not result.ok, "the command ran:\n%s" % result


# ---------------------------------------------------------------------------------------------
# an account pwdir alone made


def test_a_user_added_with_pwdir_alone_logs_in(world, sshd):
    """No useradd: ana is in no passwd, group or shadow file of the host. `pwdir user add` publishes
    her account in /run/userdb (the host's, a scratch folder in sshd's namespace), nss-systemd
    resolves it for sshd, and she logs in with her temporary password, changes it and her command
    runs as her, in the home pam_mkhomedir made for her at that first login; after `pwdir user
    remove` sshd no longer knows her."""
    world.write_conf("userdb_dir = %s" % (world.folder / "ssh" / "run" / "userdb"))  # SshHost's scratch /run
    world.init()
    host = sshd(system_account=False)
    # her home is made at the first login by pam_mkhomedir, as the README's session line does
    home = host.folder / "homes" / "ana"
    home.parent.mkdir(mode=0o755)
    module = lambda stack: "%-8s required %s %s" % (stack, world.binaries.module, world.module_args())
    host.write_service = lambda: world.write_service_lines("sshd", [module("auth"), module("account"), module("password"), module("session"),
                                                                    "session  required %s umask=0077" % MKHOMEDIR])
    world.pw_ok("user", "add", "ana", "--uid", str(TEST_UID), "--home", str(home), "--shell", "/bin/sh")
    temporary = world.pw_ok("passwd", "ana", "--generate").out.strip().splitlines()[-1]
    world.secret(temporary)
    resolved = host.namespace.run(["getent", "passwd", "ana"], env=base_environment())
    assert resolved.out.strip() == "ana:x:%d:%d:ana:%s:/bin/sh" % (TEST_UID, TEST_UID, home), str(resolved)
    new = "Amber-Kestrel-Glides-4"
    world.secret(new)
    conversation = host.ssh(command='echo "session of $(id -un) uid $(id -u) gid $(id -g) in $PWD"', tty=True)
    conversation.answer("Password: ", temporary)
    conversation.answer("New password: ", new)
    conversation.answer("Retype new password: ", new)
    result = conversation.finish()
    assert result.ok, "the login failed:\n%s" % result
    assert "session of ana uid %d gid %d in %s" % (TEST_UID, TEST_UID, home) in result.output, str(result)
    st = home.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (TEST_UID, TEST_UID, 0o700), "pam_mkhomedir made %s wrong" % home
    world.pw_ok("user", "remove", "ana")
    gone = host.namespace.run(["getent", "passwd", "ana"], env=base_environment())
    assert not gone.ok, "ana still resolves after user remove: %s" % gone
    host.refused(new)


# ---------------------------------------------------------------------------------------------
# The second factor over ssh


def test_second_factor_over_keyboard_interactive(world, sshd):
    """totp = optional, ana enrolled: keyboard-interactive carries `Verification code: ` after
    the password, and the oathtool code of now logs her in; the same code again is refused (the
    connection ends with "Permission denied")."""
    from test_totp import enrol, fresh_step
    world.write_conf("totp = optional")
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    ana = enrol(world, "ana")
    world.secret(ana.key, ana.uri)
    host = sshd()
    code = ana.code(fresh_step())
    conversation = host.ssh(tty=True)
    conversation.answer("Password: ", "Right-Password-1")
    conversation.answer("Verification code: ", code)
    result = conversation.finish()
    assert result.ok and "session of ana" in result.output, "password and code did not log in over ssh:\n%s" % result
    again = host.ssh(tty=True)
    again.answer("Password: ", "Right-Password-1")
    again.answer("Verification code: ", code)
    replayed = again.finish()
    assert replayed.rc == 255 and "session of" not in replayed.output, "a used code logged in over ssh:\n%s" % replayed


def test_second_factor_over_the_password_method_with_code_in_password(world, sshd):
    """The password method has one prompt: with the module argument code_in_password, ana types
    the code right after her password and is logged in; without the code she is refused."""
    from test_totp import enrol, fresh_step
    world.write_conf("totp = optional")
    world.module_extra = "code_in_password"
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    ana = enrol(world, "ana")
    world.secret(ana.key, ana.uri)
    host = sshd(password_method=True)
    host.refused("Right-Password-1")
    host.login("Right-Password-1" + ana.code(fresh_step()))
