"""A slapd for the tests (Debian's, started from the test's own config on a loopback port,
never the package's daemon): back_mdb, ppolicy, pwdir's schema; optionally one of several
providers replicating each other, and ACLs with a service identity as an administrator would
write them (the identity may test whether a password is set, never read one)."""
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from pwdir_e2e import ROOT, free_port, lines_of, run

BASE = "dc=example,dc=org"
ADMIN = "cn=admin," + BASE
ADMIN_PASSWORD = "Slapd-Admin-Secret-1"
SERVICE = "cn=pwdird," + BASE
SERVICE_PASSWORD = "Pwdird-Service-Secret-7"
# What an administrator writes (README, "An OpenLDAP setup"): the service identity searches
# without limits, may test whether a password is set and write a new one, never read one.
ACL = [
    'limits dn.exact="%s" size=unlimited time=unlimited' % SERVICE,
    'access to attrs=userPassword by dn.exact="%s" =wsx by self =xw by anonymous auth by * none' % SERVICE,
    'access to attrs=pwdirRecoveryCode,pwdirTotp by dn.exact="%s" manage by * none' % SERVICE,
    'access to * by dn.exact="%s" manage by self read by * none' % SERVICE,
]
SCHEMA = ROOT / "ldap" / "pwdir.schema"
MUST_CHANGE = "Password must be changed"
LOCKED = "Account locked"

needs_slapd = pytest.mark.skipif(not shutil.which("slapd") and not os.path.exists("/usr/sbin/slapd"),
                                reason="slapd is not installed (make deps installs it)")


class Slapd:
    """A slapd of this test: its own config and database in FOLDER, on a loopback port. With
    PEERS (the URIs of every provider, this one's at INDEX), one of several providers that
    replicate each other (multiprovider, syncprov, syncrepl refreshAndPersist)."""

    def __init__(self, folder: Path, env: dict, port: int = None, peers: list = None, index: int = 0, acl: bool = False,
                 tls: tuple = None):
        """TLS: (CA file, certificate file, key file): StartTLS on `uri`, and `ldaps_uri` too."""
        self.folder = folder
        self.env = env
        self.port = port or free_port()
        self.uri = "ldap://127.0.0.1:%d/" % self.port
        self.ldaps_uri = "ldaps://127.0.0.1:%d/" % free_port() if tls else None
        (folder / "db").mkdir(parents=True)
        replication = []
        if peers:
            replication = ["serverID %d %s" % (n + 1, uri) for n, uri in enumerate(peers)]
        config = [
            *("include /etc/ldap/schema/%s.schema" % s for s in ("core", "cosine", "inetorgperson", "nis")),
            "include %s" % SCHEMA,
            "modulepath /usr/lib/ldap", "moduleload back_mdb", "moduleload ppolicy", *(["moduleload syncprov"] if peers else []),
            "pidfile %s/slapd.pid" % folder, "argsfile %s/slapd.args" % folder, *replication,
            *(["TLSCACertificateFile %s" % tls[0], "TLSCertificateFile %s" % tls[1], "TLSCertificateKeyFile %s" % tls[2]] if tls else []),
            "database mdb", 'suffix "%s"' % BASE, 'rootdn "%s"' % ADMIN, "rootpw %s" % ADMIN_PASSWORD,
            "directory %s/db" % folder, "maxsize 104857600", "index entryCSN,entryUUID eq",
        ]
        if acl:
            config += ACL
        if peers:
            config += ["overlay syncprov", "syncprov-checkpoint 100 1"]
            for n, uri in enumerate(peers):
                if n != index:
                    config.append('syncrepl rid=%03d provider=%s bindmethod=simple binddn="%s" credentials=%s '
                                  'searchbase="%s" type=refreshAndPersist retry="1 +" timeout=3'
                                  % (n + 1, uri, ADMIN, ADMIN_PASSWORD, BASE))
            config.append("multiprovider on")
        config += ["overlay ppolicy", 'ppolicy_default "cn=default,ou=policies,%s"' % BASE, "ppolicy_use_lockout",
                   "password-hash {CRYPT}", 'password-crypt-salt-format "$y$j9T$%.24s"']
        folder.joinpath("slapd.conf").write_text(lines_of(*config))
        listen = self.uri + (" " + self.ldaps_uri if tls else "")
        started = run(["/usr/sbin/slapd", "-f", str(folder / "slapd.conf"), "-h", listen], env=env)
        assert started.ok, "slapd did not start:\n%s" % started
        deadline = time.monotonic() + 10
        while not self.ldap("ldapsearch", "-b", "", "-s", "base", quiet=True).ok:
            assert time.monotonic() < deadline, "slapd does not answer on %s" % self.uri
            time.sleep(0.1)

    def stop(self):
        pidfile = self.folder / "slapd.pid"
        if pidfile.exists():
            pid = int(pidfile.read_text())
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:  # stopped already (a test stopped it, the pidfile stayed)
                return
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.05)
            os.kill(pid, signal.SIGKILL)

    def ldap(self, tool: str, *args, stdin: str = None, quiet: bool = False):
        """An ldap-utils TOOL as the server's administrator."""
        return run([tool, "-x", "-H", self.uri, "-D", ADMIN, "-w", ADMIN_PASSWORD, *args], env=self.env, stdin=stdin, quiet=quiet)

    def add(self, ldif: str, relax: bool = False):
        result = self.ldap("ldapadd", *(["-e", "relax"] if relax else []), stdin=ldif)
        assert result.ok, "ldapadd failed:\n%s" % result
        return result

    def bind(self, login: str, password: str):
        """ldapwhoami as the user, asking for the password policy's answer."""
        return run(["ldapwhoami", "-x", "-e", "ppolicy", "-H", self.uri, "-D", "uid=%s,ou=people,%s" % (login, BASE), "-w", password],
                   env=self.env, quiet=True)


CONTAINERS = lines_of(
    "dn: %s" % BASE, "objectClass: dcObject", "objectClass: organization", "o: example", "dc: example", "",
    "dn: ou=people,%s" % BASE, "objectClass: organizationalUnit", "ou: people", "",
    "dn: ou=policies,%s" % BASE, "objectClass: organizationalUnit", "ou: policies")

SERVICE_ENTRY = lines_of(
    "dn: %s" % SERVICE, "objectClass: organizationalRole", "objectClass: simpleSecurityObject",
    "cn: pwdird", "userPassword: %s" % SERVICE_PASSWORD)

BASE_ENTRY = lines_of("dn: %s" % BASE, "objectClass: dcObject", "objectClass: organization", "o: example", "dc: example")


class Pwdird:
    """pwdird --config CONF (the binary beside `pwdir`), in the foreground, its output in LOG;
    started once its socket exists, stopped with SIGTERM (SIGKILL after 10 s)."""

    def __init__(self, binary: Path, conf: Path, socket: Path, env: dict, log: Path):
        self.socket = socket
        self.log = log
        socket.unlink(missing_ok=True)  # a stopped pwdird leaves its socket behind
        with open(log, "ab") as out:
            self.process = subprocess.Popen([str(binary), "--config", str(conf)], env=env, stdin=subprocess.DEVNULL,
                                            stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not socket.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("pwdird did not make %s (exit %s):\n%s" % (socket, self.process.returncode, log.read_text()))
            time.sleep(0.02)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
