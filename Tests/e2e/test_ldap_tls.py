"""The LDAP store over TLS (issue 10): `ldaps://` URIs, and StartTLS (`ldap_tls = starttls`) on
`ldap://`, each trusting the one CA of `ldap_ca_file`, whatever libldap's own ldap.conf or
LDAPTLS_* variables say. A server whose certificate another CA signed is refused
with one line, never used in clear; a login through pwdird works over TLS."""
from pathlib import Path

import pytest

from pwdir_e2e import lines_of, run
from ldap_e2e import BASE_ENTRY, BASE, SERVICE, SERVICE_ENTRY, SERVICE_PASSWORD, Pwdird, Slapd, needs_slapd

pytestmark = needs_slapd


def authority(folder: Path, name: str, env: dict) -> tuple:
    """A CA NAME and a certificate it signs for 127.0.0.1: (ca.pem, cert.pem, key.pem)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = folder / (name + "-ca.pem"), folder / (name + "-ca.key")
    cert, key, csr = folder / (name + "-server.pem"), folder / (name + "-server.key"), folder / (name + ".csr")
    ext = folder / (name + ".ext")
    ext.write_text("subjectAltName = IP:127.0.0.1\nbasicConstraints = CA:FALSE\nkeyUsage = digitalSignature, keyEncipherment\n")
    for argv in (
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=pwdir test CA %s" % name],
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "2",
         "-extfile", ext],
    ):
        made = run([str(a) for a in argv], env=env, quiet=True)
        assert made.ok, "openssl failed:\n%s" % made
    return ca, cert, key


@pytest.fixture
def tls_site(world):
    """A slapd with a certificate of CA "good" (StartTLS and ldaps), a CA "other" that signed
    nothing of it, the service identity's secret, and settings for `pwdir` (`conf(...)`)."""
    good = authority(world.folder / "pki", "good", world.env)
    other = authority(world.folder / "pki", "other", world.env)
    server = Slapd(world.folder / "slapd", world.env, acl=True, tls=good)
    try:
        server.add(BASE_ENTRY + "\n" + SERVICE_ENTRY)
        secret = world.path("ldap.secret")
        secret.write_text(SERVICE_PASSWORD + "\n")
        secret.chmod(0o600)

        def conf(uri: str, ca: Path, *extra):
            world.write_conf("store = ldap", "ldap_uri = " + uri, "ldap_base = " + BASE, "ldap_bind_dn = " + SERVICE,
                             "ldap_secret_file = %s" % secret, "ldap_ca_file = %s" % ca,
                             "pwdird_socket = %s" % world.path("run/socket"), *extra)
        yield server, good[0], other[0], conf
    finally:
        server.stop()


def refused_in_one_line(world, *args):
    result = world.expect_clean_error(*args)
    assert "LDAP server" in result.err, str(result)
    return result


def test_ldaps_trusts_its_ca_file_and_nothing_else(world, tls_site):
    """ldaps://: with the server's CA the directory is made and used; with another CA every
    command is refused in one line (nothing in clear), even when LDAPTLS_CACERT names the right
    one (libldap's own configuration is never read)."""
    server, good, other, conf = tls_site
    conf(server.ldaps_uri, good)
    world.pw_ok("init")
    world.pw_ok("user", "add", "ana")
    conf(server.ldaps_uri, other)
    refused_in_one_line(world, "user", "show", "ana")
    refused = world.pw("user", "show", "ana", env={"LDAPTLS_CACERT": str(good), "LDAPTLS_REQCERT": "never"})
    assert not refused.ok, "libldap's variables overrode ldap_ca_file:\n%s" % refused


def test_starttls_trusts_its_ca_file_and_nothing_else(world, tls_site):
    """StartTLS on ldap://: the right CA works, another one is refused before any bind."""
    server, good, other, conf = tls_site
    conf(server.uri, good, "ldap_tls = starttls")
    world.pw_ok("init")
    world.pw_ok("user", "add", "ana")
    assert world.show("ana")["login"] == "ana"
    conf(server.uri, other, "ldap_tls = starttls")
    refused_in_one_line(world, "user", "list")


def test_a_login_through_pwdird_over_tls(world, tls_site):
    """pwdird binds as the user over ldaps: a temporary password must be changed, the new one
    logs in, a wrong one is refused; with the wrong CA pwdird fails closed."""
    server, good, other, conf = tls_site
    conf(server.ldaps_uri, good)
    world.path("run").mkdir(mode=0o755)
    world.pw_ok("init")
    world.pw_ok("user", "add", "ana")
    world.pw_ok("passwd", "ana", "--stdin", stdin=lines_of("Temporary-Over-TLS-1"))
    daemon = Pwdird(world.binaries.pwdir.parent / "pwdird", world.conf, world.path("run/socket"), world.env, world.path("pwdird.log"))
    try:
        world.must_change("ana", "Temporary-Over-TLS-1")
        changed = world.pam("ana", "chauthtok", answers=["Own-Choice-Over-TLS-2", "Own-Choice-Over-TLS-2"])
        assert changed.ok, str(changed)
        world.login_ok("ana", "Own-Choice-Over-TLS-2", "authenticate", "acct_mgmt")
        world.login_refused("ana", "Temporary-Over-TLS-1")
    finally:
        daemon.stop()
    conf(server.ldaps_uri, other)
    daemon = Pwdird(world.binaries.pwdir.parent / "pwdird", world.conf, world.path("run/socket"), world.env, world.path("pwdird.log"))
    try:
        refused = world.pam("ana", answers=["Own-Choice-Over-TLS-2"])
        assert not refused.ok and "cannot retrieve authentication info" in refused.output, str(refused)
    finally:
        daemon.stop()
