"""Callers without root (screen lockers): the module asks the setuid helper `pwdir-chkpwd`, which
checks only the caller's own account, reads the password from a pipe, spends one hash and counts
failures in the same lockout as every other login.

Each test runs in a private mount namespace (pwdir_e2e.Namespace) over a copy of /etc (where the
test's local user lives: the helper asks the passwords database who its real uid is, and
LD_PRELOAD tricks do not reach a setuid program) and a tmpfs over /var/lib (the helper uses the
installed paths only: /var/lib/pwdir/users, /etc/security/pwdir.conf)."""
import os

import pytest

from pwdir_e2e import Namespace, base_environment

LOCAL = "ckuser"        # has a passwd entry (in the namespace's /etc) and a pwdir account
OTHER = "ckother"       # a pwdir account only
OWN_PASSWORD = "Lantern-Mosaic-417"
OTHER_PASSWORD = "Harbor-Violet-628"
LOCKED_UNTIL = "locked after too many failed logins until"


@pytest.fixture
def host(world, binaries):
    """The namespace: /etc copied, /var/lib/pwdir made, the two accounts, the helper installed
    setuid root in the world's folder, a PAM service `locker` using it."""
    ns = Namespace()
    etc = world.path("etc")
    helper = world.path("sbin") / "pwdir-chkpwd"
    services = world.path("services")
    try:
        ns.sh("""
            cp -a /etc/. {etc}/ && mount --bind {etc} /etc && mount -t tmpfs tmpfs /var/log
            mount -t tmpfs -o mode=0755 tmpfs /var/lib && mkdir -m 0700 /var/lib/pwdir
            printf 'deny = 3\\nunlock_time = 600\\nuserdb_dir = off\\n' > /etc/security/pwdir.conf
            useradd --no-log-init -M -d /nonexistent -s /usr/sbin/nologin {local}
            {pwdir} init
            {pwdir} user add {local} --full-name 'Ck User'
            {pwdir} user add {other} --full-name 'Ck Other'
            """.format(etc=etc, local=LOCAL, other=OTHER, pwdir=binaries.pwdir))
        for login, password in ((LOCAL, OWN_PASSWORD), (OTHER, OTHER_PASSWORD)):
            ns.run([binaries.pwdir, "passwd", login, "--stdin", "--no-force-change"], stdin=password + "\n")
            world.secret(password)
        helper.parent.mkdir()
        ns.sh("install -m 4755 -o root -g root {} {}".format(binaries.chkpwd, helper))
        services.mkdir(mode=0o755)
        (services / "locker").write_text("".join("%s required %s nodelay chkpwd=%s\n" % (hook, binaries.module, helper)
                                                 for hook in ("auth", "account")))
        ns.uid = int(ns.sh("id -u " + LOCAL).out.strip())
        ns.helper = helper
        ns.pwdir = binaries.pwdir
        yield ns
    finally:
        ns.close()


def as_user(ns, uid, argv, stdin=None):
    """ARGV as uid:uid with no groups, pamtester under pam_wrapper with the `locker` service."""
    env = base_environment()
    return ns.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups", *argv], env=env, stdin=stdin)


def lock_screen(ns, world, user, password, uid=None):
    """A screen locker run by uid (default: the local user) checking USER's PASSWORD."""
    env = "LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=%s" % world.path("services")
    return as_user(ns, ns.uid if uid is None else uid,
                   ["env", *env.split(), "pamtester", "locker", user, "authenticate", "acct_mgmt"], stdin=password + "\n")


def shown(ns, login):
    import json
    return json.loads(ns.run([ns.pwdir, "user", "show", login, "--json"]).out)


def test_own_account_through_the_helper(host, world):
    """A process without root checks its own user's password: the right one passes authenticate
    and acct_mgmt; the tally the helper wrote is root's (never the caller's)."""
    result = lock_screen(host, world, LOCAL, OWN_PASSWORD)
    assert result.ok and "successfully authenticated" in result.output, str(result)
    assert "account management done" in result.output, str(result)
    info = host.run(["stat", "-c", "%u:%g %a", "/var/lib/pwdir/users.tally/" + LOCAL]).out.split()
    assert info == ["0:0", "600"], "the helper's tally is %s, not root's 0600" % info
    assert shown(host, LOCAL)["failures"] == 0


def test_wrong_passwords_lock_the_account(host, world):
    """Each wrong password through the helper is a failed login; after deny = 3 the right one is
    refused and the lock screen is told until when."""
    for _ in range(3):
        assert not lock_screen(host, world, LOCAL, "Not-The-Password-1").ok
    assert shown(host, LOCAL)["failures"] == 3
    result = lock_screen(host, world, LOCAL, OWN_PASSWORD)
    assert not result.ok, "the right password worked on a locked account: %s" % result
    assert LOCKED_UNTIL in result.output, "the lock screen was not told until when: %s" % result
    host.run([host.pwdir, "unlock", LOCAL])
    assert lock_screen(host, world, LOCAL, OWN_PASSWORD).ok


def test_another_account_refused_and_not_counted(host, world):
    """A process without root cannot check anyone else's password, right or wrong, and cannot make
    anyone else's failures grow (no locking others out)."""
    result = lock_screen(host, world, OTHER, OTHER_PASSWORD)
    assert not result.ok, "uid %d checked %s's password: %s" % (host.uid, OTHER, result)
    for _ in range(4):
        assert not lock_screen(host, world, OTHER, "Not-The-Password-1").ok
    assert shown(host, OTHER)["failures"] == 0, "another user's attempts counted against %s" % OTHER
    nobody = lock_screen(host, world, LOCAL, OWN_PASSWORD, uid=4242424)
    assert not nobody.ok, "a uid with no login checked %s's password" % LOCAL


def test_helper_refuses_a_terminal_a_long_password_and_bad_arguments(host, world):
    """The helper reads the password only from a pipe, at most 511 bytes; called by hand with a
    file or a terminal on stdin, too long a password, or arguments it does not know, it refuses
    in one line and counts nothing."""
    helper = str(host.helper)
    from_file = as_user(host, host.uid, ["sh", "-c", "%s auth %s --service x < /etc/hostname" % (helper, LOCAL)])
    assert from_file.rc == 1 and "pipe" in from_file.err, str(from_file)
    long = as_user(host, host.uid, [helper, "auth", LOCAL, "--service", "x"], stdin="x" * 600)
    assert long.rc == 1 and "511" in long.err, str(long)
    usage = as_user(host, host.uid, [helper, "auth", LOCAL, "--db", "/tmp/x"])
    assert usage.rc == 64 and len(usage.err.splitlines()) == 1, str(usage)
    assert shown(host, LOCAL)["failures"] == 0
    direct = as_user(host, host.uid, [helper, "auth", LOCAL, "--service", "x"], stdin=OWN_PASSWORD)
    assert direct.out.splitlines()[-1:] == ["result success"], str(direct)


def test_helper_not_setuid(host, world):
    """Installed without its setuid bit, the helper cannot read the accounts: the module refuses
    (PAM_AUTHINFO_UNAVAIL), it does not crash or hang."""
    host.sh("chmod 0755 %s" % host.helper)
    result = lock_screen(host, world, LOCAL, OWN_PASSWORD)
    assert not result.ok and "cannot retrieve authentication info" in result.output, str(result)
