"""Many hosts, one directory (issue 10): two OpenLDAP providers A and B replicating each other
(multiprovider, ACLs with the service identity, which may test a password but never read one),
and two hosts, each with its own pwdird and PAM service: host A (hosta, ldap_uri = A B) and
host B (hostb, ldap_uri = B A). `pwdir` on either host works on the directory itself; the module
asks its host's pwdird and never links libldap. A password set, changed, locked or unlocked on
one host holds on the other; a provider down is survived; pwdird down is never a success."""
import calendar
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from pwdir_e2e import MAIL_FROM, MSMTP, NOBODY, free_port, lines_of, median, ms, run
from test_hardening_locks import AUTH_ERR, MAXTRIES, PERM_DENIED, refused_as
from test_ldap_migration import PASSWORDS, populated, wait_for
from test_totp import fresh_step, parse_enrolment, totp, wrong_code

from ldap_e2e import BASE, BASE_ENTRY, SERVICE, SERVICE_ENTRY, SERVICE_PASSWORD, Pwdird, Slapd, needs_slapd

pytestmark = needs_slapd

UNAVAILABLE = "Authentication service cannot retrieve authentication info"  # pam_strerror(PAM_AUTHINFO_UNAVAIL)
UNKNOWN = "User not known to the underlying authentication module"  # pam_strerror(PAM_USER_UNKNOWN)
NEW_REQUIRED = "Authentication token is no longer valid; new one required"


class Host:
    """One machine of the site: its settings (store = ldap, its own ldap_uri order and pwdird
    socket), its own `db=` (the module keeps `users.known/` beside it), its PAM service, its pwdird."""

    def __init__(self, world, name: str, uris: list, secret: Path, sockets: Path):
        self.world, self.name, self.uris, self.secret = world, name, uris, secret
        self.folder = world.folder / ("host-" + name)
        self.folder.mkdir()
        (sockets / name).mkdir(mode=0o755)
        self.db, self.conf, self.socket = self.folder / "users", self.folder / "pwdir.conf", sockets / name / "socket"
        self.service = "host" + name
        self.env = dict(world.env, PWDIR_CONFIG=str(self.conf), PWDIR_DB=str(self.db))
        self.daemon = None
        self.write_conf()
        args = "db=%s config=%s nodelay pwdir=%s" % (self.db, self.conf, world.binaries.pwdir)
        world.write_service_lines(self.service, ["%-8s required %s %s" % (stack, world.binaries.module, args)
                                                 for stack in ("auth", "account", "password", "session")])

    def write_conf(self, *extra):
        """Settings (with EXTRA lines); pwdird reads them when it starts."""
        self.conf.write_text(lines_of(
            "store = ldap", "ldap_uri = " + " ".join(self.uris), "ldap_base = " + BASE, "ldap_bind_dn = " + SERVICE,
            "ldap_secret_file = %s" % self.secret, "pwdird_socket = %s" % self.socket, "deny = 3", "unlock_time = 300",
            "remember = 5", "minlen = 12", "userdb_dir = off", *extra))

    def start(self):
        self.daemon = Pwdird(self.world.binaries.pwdir.parent / "pwdird", self.conf, self.socket, self.world.env,
                             self.folder / "pwdird.log")

    def stop(self):
        if self.daemon:
            self.daemon.stop()

    def pw(self, *args, stdin=None, sudo_user=None):
        """`pwdir ARGS` on this host."""
        env = dict(self.env, **({"SUDO_USER": sudo_user} if sudo_user else {}))
        return run([self.world.binaries.pwdir, *args], env=env, stdin=stdin)

    def pw_ok(self, *args, **kwargs):
        result = self.pw(*args, **kwargs)
        assert result.ok, "pwdir %s on host %s failed:\n%s" % (" ".join(map(str, args)), self.name, result)
        return result

    def show(self, login: str) -> dict:
        return json.loads(self.pw_ok("user", "show", login, "--json").out)

    def pam(self, user: str, *ops, answers=(), quiet: bool = False):
        return self.world.pam(user, *ops, answers=answers, service=self.service, quiet=quiet)

    def login_ok(self, user: str, password: str, *ops):
        return self.world.login_ok(user, password, *ops, service=self.service)

    def login_refused(self, user: str, password: str, *ops):
        return self.world.login_refused(user, password, *ops, service=self.service)

    def must_change(self, user: str, password: str):
        self.login_ok(user, password)
        result = self.pam(user, "authenticate", "acct_mgmt", answers=[password])
        assert not result.ok and NEW_REQUIRED in result.output, \
            "%s need not change %r on host %s:\n%s" % (user, password, self.name, result)


def values(server: Slapd, login: str, name: str) -> list:
    """The values of attribute NAME in LOGIN's entry on SERVER, as its administrator reads them."""
    out = server.ldap("ldapsearch", "-LLL", "-o", "ldif_wrap=no", "-b", "uid=%s,ou=people,%s" % (login, BASE), "-s", "base",
                      "(objectClass=*)", name, quiet=True).out
    return [line.split(" ", 1)[1] for line in out.splitlines() if line.split(":", 1)[0] == name]


def calendar_seconds(stamp: str) -> int:
    """2026-11-25T03:46:16Z as seconds since the epoch."""
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))


class Site:
    """Providers A and B and hosts A and B (see the module's docstring); `stoppable` is everything
    started, stopped at the end whatever happened."""

    def __init__(self, world):
        self.world, self.stoppable, self.hosts = world, [], {}
        # sun_path holds 108 bytes: the sockets live in a short folder of their own (root's, 0755)
        self.sockets = Path(tempfile.mkdtemp(prefix="pwdird."))
        self.sockets.chmod(0o755)
        self.secret = world.path("ldap.secret")
        fd = os.open(self.secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (SERVICE_PASSWORD + "\n").encode())
        os.close(fd)

    def start_providers(self):
        """A and B, replicating each other, holding the base entry and the service identity."""
        for attempt in range(3):  # a free port can be taken between looking and binding
            ports = [free_port(), free_port()]
            peers = ["ldap://127.0.0.1:%d/" % p for p in ports]
            try:
                for n in range(2):
                    folder = self.world.folder / ("slapd-%s%d" % ("ab"[n], attempt))
                    self.stoppable.append(Slapd(folder, self.world.env, port=ports[n], peers=peers, index=n, acl=True))
                break
            except AssertionError:
                self.stop()
                self.stoppable.clear()
                if attempt == 2:
                    raise
        self.a, self.b = self.stoppable
        self.a.add(BASE_ENTRY + "\n" + SERVICE_ENTRY)

    def host(self, name: str, *servers: Slapd, start: bool = True) -> Host:
        made = Host(self.world, name, [s.uri for s in servers], self.secret, self.sockets)
        self.hosts[name] = made
        self.stoppable.append(made)
        if start:
            made.start()
        return made

    def replicated(self, login: str):
        """Waits until LOGIN's entry is the same on A and B (their entryCSN)."""
        wait_for("%s's entry is the same on A and B" % login,
                 lambda: values(self.a, login, "entryCSN") == values(self.b, login, "entryCSN") != [])

    def stop(self):
        for thing in reversed(self.stoppable):
            thing.stop()

    def close(self):
        self.stop()
        shutil.rmtree(self.sockets, ignore_errors=True)


@pytest.fixture
def site(world):
    """Site(world) with its providers, `pwdir init` run on host A, both pwdirds running."""
    made = Site(world)
    try:
        made.start_providers()
        policy = "cn=default,ou=policies," + BASE
        a = made.host("a", made.a, made.b, start=False)
        made.host("b", made.b, made.a, start=False)
        a.pw_ok("init")
        wait_for("the policy reached B", lambda: "pwdMaxFailure: 3" in made.b.ldap(
            "ldapsearch", "-LLL", "-b", policy, "-s", "base", quiet=True).out)
        for host in made.hosts.values():
            host.start()
        yield made
    finally:
        made.close()


def user(host: Host, login: str, password: str, *options):
    """LOGIN added on HOST with OPTIONS and PASSWORD (no forced change)."""
    host.pw_ok("user", "add", login, *options)
    host.pw_ok("passwd", login, "--stdin", "--no-force-change", stdin=lines_of(password))
    host.world.secret(password)


# ---------------------------------------------------------------------------------------------


def test_a_temporary_password_set_on_a_is_changed_on_b(world, site):
    """The administrator on host A sets a temporary password; ana logs in with it on host B, which
    demands a new one; she changes it on B (as root the module asks no current password when the
    change is forced); the new password then works on A, and the old one on neither host."""
    a, b = site.hosts["a"], site.hosts["b"]
    a.pw_ok("user", "add", "ana")
    first = a.pw_ok("passwd", "ana", "--generate").out.splitlines()[-1]
    world.secret(first)
    assert a.show("ana")["mustChangePassword"], "a generated password is not a temporary one"
    site.replicated("ana")
    b.must_change("ana", first)
    # The forced change right after the login: the temporary password is not a new one (the
    # server never shows pwdir a hash; the password the login proved stands for it).
    same = b.pam("ana", "authenticate", "chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK)", answers=[first, first, first])
    assert not same.ok and "same as the current password" in same.output, "the temporary password was taken again:\n%s" % same
    new = "Heron-Over-Lakes-42"
    changed = b.pam("ana", "chauthtok", answers=[new, new])
    assert changed.ok, "ana could not change her temporary password on B:\n%s" % changed
    assert "New password:" in changed.output and "Retype new password:" in changed.output, changed
    assert "Current password:" not in changed.output, "root was asked ana's current password:\n%s" % changed
    world.secret(new)
    site.replicated("ana")
    a.login_ok("ana", new, "authenticate", "acct_mgmt")
    for host in (a, b):
        host.login_refused("ana", first)
    assert not b.show("ana")["mustChangePassword"]


def test_failures_on_both_hosts_lock_on_both_and_unlock_on_either(world, site):
    """Two wrong passwords on A and one on B (deny = 3) lock ana everywhere: her right password is
    refused on both hosts, `pwdir user show` on either says locked after failures until the lock
    time + unlock_time (300 s); `pwdir unlock` on B lets her log in on A."""
    a, b = site.hosts["a"], site.hosts["b"]
    user(a, "ana", PASSWORDS["ana"])
    site.replicated("ana")
    for n in range(2):
        a.login_refused("ana", "Wrong-Password-%d" % n)
    wait_for("A's two failures reached B", lambda: len(values(site.b, "ana", "pwdFailureTime")) == 2)
    refused_as(b.pam("ana", answers=["Wrong-Password-2"]), AUTH_ERR)
    for server in (site.a, site.b):
        wait_for("ana locked on " + server.uri, lambda: len(values(server, "ana", "pwdAccountLockedTime")) == 1)
    for host in (a, b):
        refused_as(host.pam("ana", answers=[PASSWORDS["ana"]]), MAXTRIES)
        shown = host.show("ana")
        assert shown["locked"] and shown["lockReason"] == "failures", shown
        since, until = (calendar_seconds(shown[k]) for k in ("lockedSince", "lockedUntil"))
        assert until - since == 300, "locked from %s until %s, not 300 s" % (shown["lockedSince"], shown["lockedUntil"])
    b.pw_ok("unlock", "ana")
    wait_for("the unlock reached A", lambda: values(site.a, "ana", "pwdAccountLockedTime") == [])
    a.login_ok("ana", PASSWORDS["ana"], "authenticate", "acct_mgmt")
    assert not b.show("ana")["locked"]


def test_history_quality_managers_and_mail_on_ldap(world, site, smtp):
    """On the LDAP store: chauthtok to a recently used password is refused ("used recently"), a
    too short one too; a manager may give his team's member a new password but not someone
    outside it (77); `send-credentials` and a CSV `import --send-credentials` on host A mail
    passwords that log in on host B (and must be changed there)."""
    a, b = site.hosts["a"], site.hosts["b"]
    user(a, "boss", PASSWORDS["boss"], "--role", "manager")
    user(a, "ana", PASSWORDS["ana"], "--manager", "boss")
    user(a, "cy", PASSWORDS["cy"])
    second = "Second-Own-Password-6"
    assert b.pam("ana", "chauthtok", answers=[second, second]).ok
    world.secret(second)
    again = b.pam("ana", "chauthtok", answers=[PASSWORDS["ana"], PASSWORDS["ana"]])
    assert not again.ok and "used recently" in again.output, "a recent password came back:\n%s" % again
    short = b.pam("ana", "chauthtok", answers=["Short-1", "Short-1"])
    assert not short.ok and "12" in short.output, "a 7-character password was taken or not said why:\n%s" % short
    b.login_ok("ana", second)
    given = a.pw_ok("passwd", "ana", "--generate", sudo_user="boss").out.splitlines()[-1]
    world.secret(given)
    refused = a.pw("passwd", "cy", "--generate", sudo_user="boss")
    assert refused.rc == 77, "a manager set the password of someone outside his team:\n%s" % refused
    site.replicated("ana")
    b.must_change("ana", given)
    b.login_ok("cy", PASSWORDS["cy"])

    a.write_conf("sendmail = %s -C %s -t" % (MSMTP, smtp.msmtprc), "mail_from = " + MAIL_FROM)
    a.pw_ok("user", "add", "fay", "--email", "fay@corp.example")
    assert "1 of 1 sent" in a.pw_ok("send-credentials", "fay").out
    csv = world.path("people.csv")
    csv.write_text(lines_of("login,email,full_name", "gus,gus@corp.example,Gus Grey", "hal,hal@corp.example,Hal Hu"))
    a.pw_ok("import", "--send-credentials", str(csv))
    for login in ("fay", "gus", "hal"):
        password = smtp.mailbox.password_for(login + "@corp.example")
        site.replicated(login)
        b.must_change(login, password)
    assert b.show("gus")["fullName"] == "Gus Grey"


def test_administration_on_one_host_holds_on_the_other(world, site):
    """`pwdir user modify`, `lock`, `user remove` on host A are what host B sees: the new name, the
    administrator's lock (refused with "Permission denied"), the removed account gone from
    `user list` and refused at B's prompt; each host's `pwdir log` tells what was done there."""
    a, b = site.hosts["a"], site.hosts["b"]
    for login in ("ana", "bo", "cy"):
        user(a, login, PASSWORDS[login])
    a.pw_ok("user", "modify", "ana", "--full-name", "Ana Lima")
    a.pw_ok("lock", "bo")
    b.login_ok("cy", PASSWORDS["cy"])
    a.pw_ok("user", "remove", "cy")
    for login in ("ana", "bo"):
        site.replicated(login)
    wait_for("cy is gone from B", lambda: values(site.b, "cy", "uid") == [])
    assert b.show("ana")["fullName"] == "Ana Lima"
    refused_as(b.pam("bo", answers=[PASSWORDS["bo"]]), PERM_DENIED)
    refused_as(b.pam("cy", answers=[PASSWORDS["cy"]]), UNKNOWN)
    listed = b.pw_ok("user", "list").out
    assert re.search(r"\bana\b", listed) and re.search(r"\bbo\b", listed) and not re.search(r"\bcy\b", listed), listed
    b.pw_ok("unlock", "bo")
    site.replicated("bo")
    a.login_ok("bo", PASSWORDS["bo"], "authenticate", "acct_mgmt")
    done = a.pw_ok("log").out  # each host keeps its own audit trail
    assert re.search(r"lock +bo +ok", done) and re.search(r"remove +cy +ok", done), done
    assert re.search(r"pam:hostb +login +bo +refused", b.pw_ok("log").out)


def test_one_provider_down(world, site):
    """With provider A stopped, host A (ldap_uri = A B) and host B still log ana in; a host that
    knows only A, and saw ana before, answers "cannot retrieve authentication info", never success
    (and "user not known" for a name it never saw)."""
    a, b = site.hosts["a"], site.hosts["b"]
    user(a, "ana", PASSWORDS["ana"])
    site.replicated("ana")
    c = site.host("c", site.a)
    c.login_ok("ana", PASSWORDS["ana"])
    site.a.stop()
    for host in (a, b):
        host.login_ok("ana", PASSWORDS["ana"], "authenticate", "acct_mgmt")
    refused_as(c.pam("ana", answers=[PASSWORDS["ana"]]), UNAVAILABLE)
    refused_as(c.pam("ana", answers=["Wrong-Password-1"]), UNAVAILABLE)
    refused_as(c.pam("zed", answers=["Any-Password-1"]), UNKNOWN)


def test_pwdird_down_is_never_a_success(world, site):
    """pwdird stopped on host A: ana (whom it answered about before) gets "cannot retrieve
    authentication info", a name it never saw "user not known"; in a stack where pam_pwdir is
    followed by another module for local accounts (user_unknown=ignore), root still logs in and
    ana does not."""
    a = site.hosts["a"]
    user(a, "ana", PASSWORDS["ana"])
    a.login_ok("ana", PASSWORDS["ana"])
    assert (Path(str(a.db) + ".known") / "ana").exists(), "no marker for ana beside host A's db"
    args = "db=%s config=%s nodelay" % (a.db, a.conf)
    world.write_service_lines("rootstack", [
        "auth [success=done new_authtok_reqd=done user_unknown=ignore default=die] %s %s" % (world.binaries.module, args),
        "auth required pam_permit.so", "account required pam_permit.so"])
    a.stop()
    for password in (PASSWORDS["ana"], "Wrong-Password-1"):
        refused_as(a.pam("ana", answers=[password]), UNAVAILABLE)
    refused_as(a.pam("zed", answers=["Any-Password-1"]), UNKNOWN)
    root = world.pam("root", answers=["Any-Password-1"], service="rootstack")
    assert root.ok, "root could not log in with pwdird down:\n%s" % root
    refused_as(world.pam("ana", answers=[PASSWORDS["ana"]], service="rootstack"), UNAVAILABLE)


def test_export_then_import_into_ldap(world, site):
    """A flat directory (deny = 3) exported with `pwdir export --ldif` and imported on host A with
    `pwdir import --ldif`: through host B ana and boss log in with their passwords, dee must change
    hers, bo (locked by an administrator) and cy (locked after failures) are refused."""
    populated(world)
    ldif = world.path("export.ldif")
    ldif.write_text(world.pw_ok("export", "--ldif").out)
    a, b = site.hosts["a"], site.hosts["b"]
    assert "6 added" in a.pw_ok("import", "--ldif", str(ldif)).out
    for login in PASSWORDS:
        site.replicated(login)
    for login in ("ana", "boss"):
        b.login_ok(login, PASSWORDS[login], "authenticate", "acct_mgmt")
    b.must_change("dee", PASSWORDS["dee"])
    refused_as(b.pam("bo", answers=[PASSWORDS["bo"]]), PERM_DENIED)
    refused_as(b.pam("cy", answers=[PASSWORDS["cy"]]), MAXTRIES)
    assert b.show("ana")["manager"] == "boss" and b.show("cy")["lockReason"] == "failures"


ASK = r"""
import json, socket, sys
def field(name, value):
    return b"%s %d\n" % (name.encode(), len(value)) + value.encode() + b"\n"
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(field("pwdird", "1") + field("verb", "record") + field("login", sys.argv[2]))
s.shutdown(socket.SHUT_WR)
data = b""
while chunk := s.recv(65536):
    data += chunk
fields, i = {}, 0
while i < len(data):
    head, _, rest = data[i:].partition(b"\n")
    name, length = head.decode().split(" ")
    fields[name] = rest[:int(length)].decode("utf-8", "replace")
    i += len(head) + 1 + int(length) + 1
print(json.dumps(fields))
"""


def test_only_root_asks_pwdird_about_others(world, site):
    """A process of uid 65534 asking pwdird about ana is refused (result error, kind
    not-allowed); the same request from root gets ana's record."""
    a = site.hosts["a"]
    user(a, "ana", PASSWORDS["ana"])
    script = world.path("ask.py")
    script.write_text(ASK)
    script.chmod(0o644)

    def ask(*prefix):
        done = run([*prefix, "/usr/bin/python3", script, a.socket, "ana"], env=world.env)
        assert done.ok, done
        return json.loads(done.out)

    refused = ask("setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups")
    assert refused.get("result") == "error" and refused.get("kind") == "not-allowed", refused
    assert "record" not in refused
    answered = ask()
    assert answered.get("result") == "ok" and "ana" in answered.get("record", ""), answered


def test_the_module_links_no_ldap(world):
    """`ldd libpam_pwdir.so` names no libldap, liblber, gnutls or sasl; `ldd pwdird` names libldap."""
    module = run(["ldd", world.binaries.module], env=world.env)
    daemon = run(["ldd", world.binaries.pwdir.parent / "pwdird"], env=world.env)
    assert module.ok and daemon.ok
    assert not re.search(r"ldap|lber|gnutls|sasl", module.out), "the module links LDAP:\n%s" % module
    assert re.search(r"^\s*libldap", daemon.out, re.M), "pwdird does not link libldap:\n%s" % daemon


def test_unusable_ldap_settings_are_refused(world):
    """store = ldap with a server reached in clear over the network, TLS without a CA file, or a
    service password file others may read: the command and pwdird refuse the settings (exit 5),
    naming what is wrong."""
    secret = world.path("ldap.secret")
    secret.write_text(SERVICE_PASSWORD + "\n")
    secret.chmod(0o644)
    ldap = ("store = ldap", "ldap_base = " + BASE, "ldap_bind_dn = " + SERVICE,
            "ldap_secret_file = %s" % secret, "pwdird_socket = %s" % world.path("socket"))
    for uri, why in (("ldap://ldap.example.org/", "in clear"), ("ldaps://ldap.example.org/", "ldap_ca_file"),
                     ("ldap://127.0.0.1:1/", str(secret))):
        world.write_conf(*ldap, "ldap_uri = " + uri)
        refused = world.expect_clean_error("user", "list")
        assert refused.rc == 5 and why in refused.err, refused
        daemon = run([world.binaries.pwdir.parent / "pwdird", "--config", world.conf], env=world.env)
        assert daemon.rc == 5 and why in daemon.err, daemon


def test_self_service_recovery_on_one_host_holds_on_the_other(world, site, smtp):
    """recovery = yes: ana, who forgot her password, types nothing at host B's prompt, gets a code
    at her recovery address, types it and a new password; the new password works on host A."""
    a, b = site.hosts["a"], site.hosts["b"]
    for host in (a, b):
        host.write_conf("sendmail = %s -C %s -t" % (MSMTP, smtp.msmtprc), "mail_from = " + MAIL_FROM,
                        "recovery = yes", "recovery_interval = 0")
        host.stop()
        host.start()
    user(a, "ana", PASSWORDS["ana"], "--recovery-email", "ana@home.example")
    site.replicated("ana")
    world.service = b.service
    new = "Recovered-Pass-Word-9"
    world.recover_at_prompt("ana", "ana@home.example", new)
    site.replicated("ana")
    a.login_ok("ana", new, "authenticate", "acct_mgmt")
    a.login_refused("ana", PASSWORDS["ana"])


def test_no_timing_oracle_through_pwdird(world, site, note):
    """Through pwdird, an unknown name, an account locked by an administrator and one without a
    password cost what a wrong password costs (the server hashes only for the last; pwdird spends
    one hash itself for the others): medians of 15 alternating runs each within [0.8, 1.25] of the
    wrong password's, a second round if the first is out (a burst of load on a shared machine)."""
    a = site.hosts["a"]
    changed = site.a.ldap("ldapmodify", stdin=lines_of(
        "dn: cn=default,ou=policies," + BASE, "changetype: modify", "replace: pwdMaxFailure", "pwdMaxFailure: 1000"))
    assert changed.ok, str(changed)  # the timed wrong passwords must not lock ana
    user(a, "ana", PASSWORDS["ana"])
    user(a, "bo", PASSWORDS["bo"])
    a.pw_ok("lock", "bo")
    a.pw_ok("user", "add", "eve")
    cases = {"ana": "wrong password", "nosuchuser": "unknown", "bo": "locked", "eve": "no password"}
    for login in cases:
        a.pam(login, answers=["Wrong-Password-1"], quiet=True)  # warm the caches
    for _ in range(2):
        times = {login: [] for login in cases}
        for _ in range(15):
            for login in cases:
                result = a.pam(login, answers=["Wrong-Password-1"], quiet=True)
                assert not result.ok, "%s logged in with a wrong password:\n%s" % (login, result)
                times[login].append(result.seconds)
        wrong = median(times["ana"])
        ratios = {cases[login]: median(t) / wrong for login, t in times.items() if login != "ana"}
        note("wrong password %s; %s" % (ms(wrong), ", ".join("%s x%.3f" % (k, v) for k, v in ratios.items())))
        if all(0.8 <= r <= 1.25 for r in ratios.values()):
            return
    raise AssertionError("time ratios to a wrong password outside [0.8, 1.25] (twice): %s" % ratios)


def test_second_factor_on_one_host_holds_on_the_other(world, site):
    """totp = optional on both hosts: ana, enrolled on host A (the key on the server, where only
    the service identity reads it: not even ana's own bind), logs in on host B with her password
    and the code (oathtool's); the same code is then refused on A (each code works once, across
    hosts); with her right password, that replay and two wrong codes, on A and on B, lock her on
    both (deny = 3); unlocked on B, she logs in on A with the next code."""
    a, b = site.hosts["a"], site.hosts["b"]
    for host in (a, b):
        host.write_conf("totp = optional")
        host.stop()
        host.start()
    user(a, "ana", PASSWORDS["ana"])
    enrolled = parse_enrolment(world, "ana", a.pw_ok("totp", "enroll", "ana").out)
    own = run(["ldapsearch", "-x", "-LLL", "-H", site.a.uri, "-D", "uid=ana,ou=people," + BASE, "-w", PASSWORDS["ana"],
               "-b", "uid=ana,ou=people," + BASE, "-s", "base", "(objectClass=*)", "pwdirTotp", "cn"], env=world.env, quiet=True)
    assert own.ok and "pwdirTotp" not in own.out, "ana can read her own key on the server:\n%s" % own
    site.replicated("ana")
    step = fresh_step(margin=12)
    code = totp(enrolled.key, step)
    logged = b.pam("ana", answers=[PASSWORDS["ana"], code])
    assert logged.ok and "Verification code" in logged.output, "ana could not log in on B with the code:\n%s" % logged
    assert b.pw_ok("totp", "show", "ana").out.count("last used") >= 1, "totp show on B does not say it was used"
    site.replicated("ana")
    refused_as(a.pam("ana", answers=[PASSWORDS["ana"], code]), AUTH_ERR)  # 1: the code again
    wrong = wrong_code(enrolled.key, step)
    refused_as(a.pam("ana", answers=[PASSWORDS["ana"], wrong]), AUTH_ERR)  # 2
    site.replicated("ana")
    refused_as(b.pam("ana", answers=[PASSWORDS["ana"], wrong]), AUTH_ERR)  # 3: locked now
    site.replicated("ana")
    for host in (a, b):
        refused = host.pam("ana", answers=[PASSWORDS["ana"], totp(enrolled.key, step + 1)])
        assert not refused.ok, "ana logged in on host %s while locked:\n%s" % (host.name, refused)
        assert host.show("ana")["lockReason"] == "failures", host.show("ana")
    b.pw_ok("unlock", "ana")
    site.replicated("ana")
    back = a.pam("ana", "authenticate", "acct_mgmt", answers=[PASSWORDS["ana"], totp(enrolled.key, step + 1)])
    assert back.ok, "ana could not log in on A after the unlock:\n%s" % back
