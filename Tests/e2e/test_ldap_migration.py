"""Moving a directory to OpenLDAP and back (the first part of issue 10): `pwdir export --ldif`
loaded into a real slapd (Debian's, started by the test from its own config on a loopback port:
back_mdb, the ppolicy overlay, ldap/pwdir.schema, the policy entry `pwdir ldap policy` prints);
every password still binds, a forced change, an administrator's lock and a lock from failed
logins are what slapd's password policy reports; the policy locks after `deny` wrong binds; what
ldapsearch prints comes back with `pwdir import --ldif` and logs in through the module."""
import os
import re
import shutil
import time
from pathlib import Path

import pytest

from pwdir_e2e import ROOT, assert_one_error_line, free_port, lines_of, run
from test_hardening_locks import AUTH_ERR, MAXTRIES, PERM_DENIED, refused_as

from ldap_e2e import ADMIN, ADMIN_PASSWORD, BASE, CONTAINERS, LOCKED, MUST_CHANGE, SCHEMA, Slapd, needs_slapd

pytestmark = needs_slapd


@pytest.fixture
def slapd(world):
    server = Slapd(world.folder / "slapd", world.env)
    yield server
    server.stop()


PASSWORDS = {"ana": "Lopez-Own-Password-1", "boss": "Chief-Own-Password-2", "bo": "Third-Own-Password-3",
             "cy": "Fourth-Own-Password-4", "dee": "Temporary-Pass-5x"}


def populated(world):
    """A flat directory: boss (manager), ana (his team, a name with accents, both addresses),
    bo (locked by an administrator), cy (locked after 3 wrong logins), dee (a temporary password
    to change at the first login), eve (no password)."""
    world.write_conf("deny = 3", "ldap_base = %s" % BASE)
    world.init()
    world.user_with_password("boss", PASSWORDS["boss"], "--role", "manager", "--full-name", "Big Boss")
    world.user_with_password("ana", PASSWORDS["ana"], "--manager", "boss", "--full-name", "Ana Lopez Été",
                             "--email", "ana@example.org", "--recovery-email", "ana@home.example")
    world.user_with_password("bo", PASSWORDS["bo"])
    world.user_with_password("cy", PASSWORDS["cy"])
    world.pw_ok("user", "add", "dee")
    world.pw_ok("passwd", "dee", "--stdin", stdin=lines_of(PASSWORDS["dee"]))
    world.pw_ok("user", "add", "eve")
    world.pw_ok("lock", "bo")
    for n in range(3):
        world.login_refused("cy", "Wrong-Password-%d" % n)
    assert world.show("cy")["lockReason"] == "failures"


def loaded(world, slapd) -> str:
    """The world's directory exported and loaded into SLAPD with the policy; the LDIF."""
    exported = world.pw_ok("export", "--ldif").out
    policy = world.pw_ok("ldap", "policy").out
    slapd.add(CONTAINERS + "\n" + policy)
    slapd.add(exported, relax=True)  # the password policy's attributes are the server's own
    return exported


def test_a_flat_directory_moves_to_slapd_and_every_password_binds(world, slapd):
    """Exported and loaded with ldapadd: every password binds as it logged in (the yescrypt hash
    as {CRYPT}); dee's temporary password binds with "Password must be changed"; bo (an
    administrator's lock) and cy (3 failed logins) are "Account locked" with the right password;
    a wrong password is refused; ana's manager is boss's entry; eve has no password."""
    populated(world)
    exported = loaded(world, slapd)
    assert "{CRYPT}$y$" in exported and "pwdReset: TRUE" in exported
    for login in ("ana", "boss"):
        bound = slapd.bind(login, PASSWORDS[login])
        assert bound.ok and "dn:uid=%s,ou=people,%s" % (login, BASE) in bound.out, "%s cannot bind:\n%s" % (login, bound)
        assert not slapd.bind(login, "Wrong-Password-9").ok
    dee = slapd.bind("dee", PASSWORDS["dee"])
    assert dee.ok and MUST_CHANGE in dee.output, "dee's forced change did not move:\n%s" % dee
    for login in ("bo", "cy"):
        refused = slapd.bind(login, PASSWORDS[login])
        assert not refused.ok and LOCKED in refused.output, "%s is not locked on the server:\n%s" % (login, refused)
    assert not slapd.bind("eve", "Any-Password-12").ok
    found = slapd.ldap("ldapsearch", "-LLL", "-b", BASE, "(uid=ana)", "manager", "cn", "pwdirRecoveryMail")
    assert "manager: uid=boss,ou=people,%s" % BASE in found.out, found
    assert "pwdirRecoveryMail: ana@home.example" in found.out, found
    assert "cn:: " in found.out, "a name with accents is base64 in LDIF:\n%s" % found


def wait_for(what: str, check, seconds: float = 15):
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "after %d s: %s" % (seconds, what)
        time.sleep(0.2)


def test_two_replicating_servers_hold_the_moved_directory_and_its_locks(world):
    """Two providers replicating each other (multiprovider, syncrepl refreshAndPersist): the
    directory loaded into A binds on B (a forced change and locks included); failed binds spread
    over both (two on A, one on B) lock ana on both, with the policy pwdir.conf made (deny = 3)."""
    populated(world)
    ports = [free_port(), free_port()]
    peers = ["ldap://127.0.0.1:%d/" % p for p in ports]
    servers = []
    try:
        for n in range(2):
            servers.append(Slapd(world.folder / ("slapd-%d" % n), world.env, port=ports[n], peers=peers, index=n))
        a, b = servers
        loaded(world, a)
        wait_for("the accounts reached B", lambda: "uid: cy" in b.ldap("ldapsearch", "-LLL", "-b", BASE, "(uid=cy)", "uid", quiet=True).out)
        wait_for("ana can bind on B", lambda: b.bind("ana", PASSWORDS["ana"]).ok)
        dee = b.bind("dee", PASSWORDS["dee"])
        assert dee.ok and MUST_CHANGE in dee.output, "dee's forced change on B:\n%s" % dee
        for login in ("bo", "cy"):
            assert LOCKED in b.bind(login, PASSWORDS[login]).output, "%s is not locked on B" % login
        # Read, not tried: a right password that arrives before the lock would clear the failures.
        state = lambda server, name: server.ldap("ldapsearch", "-LLL", "-b", "uid=ana,ou=people," + BASE, "-s", "base",
                                                 "(objectClass=*)", name, quiet=True).out.count(name + ":")
        for n in range(2):
            assert not a.bind("ana", "Wrong-Password-%d" % n).ok
        wait_for("A's two failures reached B", lambda: state(b, "pwdFailureTime") == 2)
        assert not b.bind("ana", "Wrong-Password-2").ok
        for server, name in ((b, "B"), (a, "A")):
            wait_for("ana locked on " + name, lambda: state(server, "pwdAccountLockedTime") == 1)
            refused = server.bind("ana", PASSWORDS["ana"])
            assert LOCKED in refused.output, "ana is not locked on %s:\n%s" % (name, refused)
    finally:
        for server in servers:
            server.stop()


def test_the_policy_pwdir_conf_makes_locks_on_the_server(world, slapd):
    """`pwdir ldap policy` (deny = 3): three wrong binds lock ana on the server; the right
    password is then refused as locked, as pwdir would."""
    populated(world)
    loaded(world, slapd)
    for n in range(3):
        assert not slapd.bind("ana", "Wrong-Password-%d" % n).ok
    refused = slapd.bind("ana", PASSWORDS["ana"])
    assert not refused.ok and LOCKED in refused.output, "3 wrong binds did not lock ana:\n%s" % refused


def test_what_ldapsearch_prints_comes_back_and_logs_in(world, slapd):
    """The server's entries (ldapsearch, with the policy's attributes) imported into a new flat
    directory with `pwdir import --ldif`: ana and boss log in through the module with their
    passwords, dee must change hers, bo is still locked by an administrator, cy still locked
    after failed logins; names, addresses, roles and the manager come back."""
    populated(world)
    loaded(world, slapd)
    searched = slapd.ldap("ldapsearch", "-LLL", "-b", "ou=people," + BASE, "(uid=*)", "*",
                          "pwdFailureTime", "pwdAccountLockedTime", "pwdChangedTime", "pwdHistory", "pwdReset")
    assert searched.ok, searched
    ldif = world.path("from-slapd.ldif")
    ldif.write_text(searched.out)
    world.use_directory(world.path("moved") / "users")
    world.path("moved").mkdir()
    world.init()
    imported = world.pw_ok("import", "--ldif", str(ldif))
    assert "6 added" in imported.out, imported
    for login in ("ana", "boss"):
        world.login_ok(login, PASSWORDS[login], "authenticate", "acct_mgmt")
    world.must_change("dee", PASSWORDS["dee"])
    refused_as(world.pam("bo", answers=[PASSWORDS["bo"]]), PERM_DENIED)
    refused_as(world.pam("cy", answers=[PASSWORDS["cy"]]), MAXTRIES)
    refused_as(world.pam("eve", answers=["Any-Password-12"]), AUTH_ERR)
    ana = world.show("ana")
    assert ana["fullName"] == "Ana Lopez Été" and ana["manager"] == "boss", ana
    assert ana["recoveryEmail"] == "ana@home.example" and ana["email"] == "ana@example.org", ana
    assert world.show("boss")["role"] == "manager"
    assert world.show("cy")["lockReason"] == "failures"


def test_a_bad_ldif_file_changes_nothing(world):
    """An LDIF file with a hash pwdir cannot check ({SSHA}) and a manager that is no DN of an
    account: one error line naming both lines, exit 2, the directory unchanged."""
    world.init()
    world.user_with_password("ana", PASSWORDS["ana"])
    before = world.snapshot()
    bad = world.path("bad.ldif")
    bad.write_text(lines_of(
        "dn: uid=fay,ou=people,%s" % BASE, "objectClass: inetOrgPerson", "uid: fay", "cn: Fay", "sn: Fay",
        "userPassword: {SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "",
        "dn: uid=gus,ou=people,%s" % BASE, "objectClass: inetOrgPerson", "uid: gus", "cn: Gus", "sn: Gus",
        "manager: cn=boss,%s" % BASE))
    result = world.expect_clean_error("import", "--ldif", str(bad))
    assert result.rc == 2, result
    assert "--update" in world.expect_clean_error("import", "--ldif", "--update", str(bad)).err
    assert "line 1" in result.err and "line 8" in result.err and "{CRYPT}" in result.err, result
    world.assert_unchanged(before, "a refused LDIF import")


def test_export_is_an_administrators_and_needs_a_base(world):
    """Without a base DN (no --base, no ldap_base) export fails in one line; a manager may not
    export (77), and the refusal is audited; accounts with a second factor are named as not
    exported."""
    world.write_conf("totp = optional")
    world.init()
    world.user_with_password("boss", PASSWORDS["boss"], "--role", "manager")
    world.user_with_password("ana", PASSWORDS["ana"], "--manager", "boss")
    assert "no base DN" in world.expect_clean_error("export", "--ldif").err
    assert "--ldif" in world.expect_clean_error("export", "--base", BASE).err
    refused = world.expect_clean_error("export", "--ldif", "--base", BASE, sudo_user="boss")
    assert refused.rc == 77, refused
    world.pw_ok("totp", "enroll", "ana")
    exported = world.pw_ok("export", "--ldif", "--base", BASE)
    assert "second factor, which is not exported" in exported.err, exported
    assert "dn: uid=ana,ou=people,%s" % BASE in exported.out
    assert re.search(r"secret|otpauth", exported.out) is None, "a TOTP key went into the LDIF"


def test_the_cn_config_schema_is_the_slapd_conf_one(world):
    """ldap/pwdir.ldif (for cn=config) loads with slapadd after Debian's core, cosine,
    inetorgperson and nis, and defines what ldap/pwdir.schema (for slapd.conf) defines."""
    config = world.path("slapd.d")
    config.mkdir()
    ldif = world.path("config.ldif")
    ldif.write_text(lines_of(
        "dn: cn=config", "objectClass: olcGlobal", "cn: config", "",
        "dn: cn=schema,cn=config", "objectClass: olcSchemaConfig", "cn: schema", "",
        *("include: file:///etc/ldap/schema/%s.ldif\n" % s for s in ("core", "cosine", "inetorgperson", "nis")),
        "include: file://%s" % (ROOT / "ldap" / "pwdir.ldif")))
    loaded = run(["/usr/sbin/slapadd", "-n0", "-F", str(config), "-l", str(ldif)], env=world.env)
    assert loaded.ok, "slapadd refused pwdir.ldif:\n%s" % loaded
    dumped = run(["/usr/sbin/slapcat", "-n0", "-F", str(config), "-o", "ldif_wrap=no"], env=world.env).out
    names = lambda text: sorted(re.findall(r"NAME '(pwdir\w+)'", text))
    assert names(dumped) == names(SCHEMA.read_text()) and len(names(dumped)) == 15, \
        "pwdir.ldif and pwdir.schema differ: %s / %s" % (names(dumped), names(SCHEMA.read_text()))
