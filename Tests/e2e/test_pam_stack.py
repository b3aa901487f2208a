"""pwdir installed as an administrator installs it on Debian: the module in the system's PAM folder
as pam_pwdir.so, pwdir-chkpwd setuid in /usr/local/sbin, the profile pam/pam-auth-update/pwdir
enabled with `pam-auth-update`, the directory and settings at their default paths; then the real
programs — passwd, su, chpasswd, and pamtester with the `login` service — over the generated
common-auth, common-account and common-password, for root, a local (pam_unix) user and pwdir's
users, with the directory healthy, missing, unsafe or corrupt, and with the settings malformed.

Everything happens in a private mount namespace (pwdir_e2e.Namespace) over copies in a tmpfs of
its own: /etc (passwd replaces /etc/shadow by a rename, so only a whole folder will do),
/usr/share/pam-configs, the PAM module folder, /usr/local/sbin; and tmpfs over /var/lib (holding
a copy of /var/lib/pam, and /var/lib/pwdir), /var/log and /var/mail (useradd and su write
there). The copies vanish with the namespace, and the fixture checks afterwards that the real
files are as they were. Root is needed (unshare); without it the tests are skipped."""
import hashlib
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pwdir_e2e import ROOT, Conversation, Namespace, Run, base_environment, lines_of

PROFILE = ROOT / "pam" / "pam-auth-update" / "pwdir"
DIRECTORY = "/var/lib/pwdir/users"
TALLIES = DIRECTORY + ".tally"
SETTINGS = "/etc/security/pwdir.conf"

LOCAL = "stklocal"  # a local user: passwd entry and shadow password; pwdir does not know it
PWUSER = "stkpw"    # a pwdir user with no passwd entry (pamtester logs it in; su cannot)
PWNSS = "stknss"    # a pwdir user who also exists for NSS, its shadow password locked, as the README advises
PASSWORDS = {"root": "Granite-Orchard-5521", LOCAL: "Lantern-Meadow-3817",
             PWUSER: "Harbor-Violet-6284", PWNSS: "Copper-Thistle-9042"}
WRONG = "Not-The-Password-7731"

# What pamtester says about the final result (pam_strerror)
AUTH_FAILED = "Authentication failure"
UNAVAILABLE = "Authentication service cannot retrieve authentication info"

# Real files that must be as they were after each test
WATCHED = ["/etc/pam.d/common-auth", "/etc/pam.d/common-account", "/etc/pam.d/common-password",
           "/etc/pam.d/common-session", "/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow",
           "/var/lib/pam/seen", "/var/lib/pam/auth", "/var/lib/pam/account", "/var/lib/pam/password",
           "/var/log/lastlog", "/var/log/faillog", "/var/log/btmp"]


def module_folder() -> Path:
    """The system's PAM module folder: where pam_unix.so is."""
    for folder in ("/usr/lib/x86_64-linux-gnu/security", "/lib/x86_64-linux-gnu/security", "/usr/lib64/security",
                   "/lib/security", "/usr/lib/security"):
        if os.path.exists(folder + "/pam_unix.so"):
            return Path(folder).resolve()
    found = sorted(Path("/usr/lib").rglob("security/pam_unix.so"))
    assert found, "no pam_unix.so on this machine"
    return found[0].parent


def real_state() -> dict:
    """A fingerprint of what the tests must not touch for real."""
    state = {}
    for path in WATCHED:
        try:
            state[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except FileNotFoundError:
            state[path] = None
    state["pam-configs"] = sorted(os.listdir("/usr/share/pam-configs"))
    state["/usr/local/sbin"] = sorted(os.listdir("/usr/local/sbin"))
    for path in (module_folder() / "pam_pwdir.so", Path("/var/lib/pwdir"), Path(SETTINGS)):
        state[str(path)] = path.exists()
    return state


# ---------------------------------------------------------------------------------------------
# The installed host


@pytest.fixture
def host(request):
    """The namespace: LOCAL made by useradd and, with root, given a password by chpasswd (before
    pwdir is in the stack, so that a broken stack fails the tests, not the fixture); PWNSS made
    by useradd, its shadow password left locked; pwdir installed and enabled by pam-auth-update
    (`host.stack[NAME]`: the generated common-NAME), a settings file that only turns off
    publishing accounts to the system (test_userdb shows that), the defaults otherwise; PWUSER
    (no account of the system) and PWNSS in the directory."""
    if os.geteuid() != 0:
        pytest.skip("unshare needs root: these tests install pwdir in a private mount namespace")
    world, binaries = request.getfixturevalue("world"), request.getfixturevalue("binaries")
    before = real_state()
    ns = Namespace()
    ns.conversations = []
    w = world.path("scratch")  # a tmpfs in the namespace: the copies go with it, nothing is left on disk
    try:
        ns.sh("""
            mkdir {w} && mount -t tmpfs -o mode=0755 tmpfs {w}
            mkdir {w}/etc {w}/pam-configs {w}/security {w}/sbin {w}/var-lib-pam {w}/home
            cp -a /etc/. {w}/etc/ && mount --bind {w}/etc /etc
            cp -a /usr/share/pam-configs/. {w}/pam-configs/ && mount --bind {w}/pam-configs /usr/share/pam-configs
            cp -a {sec}/. {w}/security/ && mount --bind {w}/security {sec}
            cp -a /usr/local/sbin/. {w}/sbin/ && mount --bind {w}/sbin /usr/local/sbin
            cp -a /var/lib/pam/. {w}/var-lib-pam/
            mount -t tmpfs -o mode=0755 tmpfs /var/lib
            mkdir /var/lib/pam && mount --bind {w}/var-lib-pam /var/lib/pam
            mount -t tmpfs -o mode=0755 tmpfs /var/log
            mount -t tmpfs -o mode=2775,gid=mail tmpfs /var/mail
            install -m 0644 -o root -g root {module} {sec}/pam_pwdir.so
            install -m 4755 -o root -g root {chkpwd} /usr/local/sbin/pwdir-chkpwd
            install -d -m 0700 /var/lib/pwdir
            echo 'userdb_dir = off' > {settings}
            useradd --no-log-init -m -d {w}/home/{local} -s /bin/sh {local}
            useradd --no-log-init -M -d /nonexistent -s /bin/sh {nss}
            """.format(w=w, sec=module_folder(), module=binaries.module, chkpwd=binaries.chkpwd,
                       settings=SETTINGS, local=LOCAL, nss=PWNSS))
        ns.sh("chpasswd", stdin=lines_of("root:" + PASSWORDS["root"], "%s:%s" % (LOCAL, PASSWORDS[LOCAL])))
        ns.sh("install -m 0644 %s /usr/share/pam-configs/pwdir && "
              "DEBIAN_FRONTEND=noninteractive pam-auth-update --enable pwdir" % PROFILE)
        ns.stack = {name: ns.sh("cat /etc/pam.d/common-" + name, quiet=True).out
                    for name in ("auth", "account", "password")}
        ns.pwdir = str(binaries.pwdir)
        ns.sh("""
            {pwdir} init
            {pwdir} user add {pw} --full-name 'Stack Pwdir'
            {pwdir} user add {nss} --full-name 'Stack Nss'
            """.format(nss=PWNSS, pw=PWUSER, pwdir=ns.pwdir))
        for login in (PWUSER, PWNSS):
            ns.sh("%s passwd %s --stdin --no-force-change" % (ns.pwdir, login), stdin=lines_of(PASSWORDS[login]))
        world.secret(*PASSWORDS.values(), WRONG)
        yield ns
    finally:
        for conversation in ns.conversations:
            conversation.close()
        ns.close()
    after = real_state()
    changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    assert not changed, "the real system changed during the test (before, after): %s" % changed


def as_user(login):
    """setpriv words that run what follows as LOGIN (None: as root; "nobody": uid/gid 65534)."""
    if login is None:
        return []
    if login == "nobody":
        return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    return ["setpriv", "--reuid=" + login, "--regid=" + login, "--init-groups"]


def pamtester(ns, user, *ops, answers=(), caller=None) -> Run:
    """pamtester login USER OPS (authenticate acct_mgmt if none) in the namespace, run by CALLER,
    ANSWERS on its stdin."""
    return ns.run([*as_user(caller), "pamtester", "login", user, *(ops or ("authenticate", "acct_mgmt"))],
                  stdin=lines_of(*answers))


def login_ok(ns, user, password, caller=None):
    result = pamtester(ns, user, answers=[password], caller=caller)
    assert result.ok and "successfully authenticated" in result.output and "account management done" in result.output, \
        "%s could not log in with the right password (run by %s):\n%s" % (user, caller or "root", result)


def refused(ns, attempts, why=AUTH_FAILED, caller=None):
    """Every (USER, PASSWORD) of ATTEMPTS is refused, pamtester (run by CALLER; by USER itself
    if CALLER is "self") saying WHY; all at once, as each refusal costs the stack's failure
    delay (3 s in `login`)."""
    def attempt(a):
        return pamtester(ns, a[0], answers=[a[1]], caller=a[0] if caller == "self" else caller)
    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        results = list(pool.map(attempt, attempts))
    for (user, password), result in zip(attempts, results):
        assert not result.ok, "%s logged in with %r:\n%s" % (user, password, result)
        assert why in result.output, "%s was refused, but not with %r:\n%s" % (user, why, result)


def at_terminal(ns, argv, caller=None) -> Conversation:
    """ARGV in the namespace at a terminal (pexpect), run by CALLER."""
    conversation = Conversation(["nsenter", "--mount=/proc/%d/ns/mnt" % ns.holder.pid, "--", *as_user(caller), *argv],
                                base_environment())
    ns.conversations.append(conversation)
    return conversation


def su(ns, target, password, caller="nobody") -> Run:
    """`su - TARGET` typed by CALLER, answering PASSWORD; success shows as `as=TARGET`."""
    conversation = at_terminal(ns, ["su", "-", target, "-c", "echo as=$(id -un)"], caller)
    conversation.answer("Password: ", password)
    return conversation.finish()


def passwd(ns, login, new, current=None, caller=None) -> Run:
    """`passwd LOGIN` typed by CALLER (root: asks no current password), or by LOGIN itself
    (`passwd`, asks CURRENT first); NEW twice."""
    if caller is None:
        conversation = at_terminal(ns, ["passwd", login])
    else:
        conversation = at_terminal(ns, ["passwd"], caller=caller)
        conversation.answer("Current password: ", current)
    conversation.answer("New password: ", new)
    conversation.answer("Retype new password: ", new)
    return conversation.finish()


def changed_by_passwd(result: Run) -> bool:
    return result.ok and "password updated successfully" in result.output


def shadow_field(ns, login) -> str:
    """LOGIN's password field in the namespace's /etc/shadow."""
    return ns.sh("getent shadow " + login, quiet=True).out.split(":")[1]


def digest(ns, path) -> str:
    return ns.sh("sha256sum " + path, quiet=True).out.split()[0]


def stack_lines(text: str) -> list:
    """The rules of a common-* file: [type, control, module, args...] each."""
    rules = []
    for line in text.splitlines():
        rule = re.match(r"\s*(\w+)\s+(\[[^\]]*\]|\S+)\s+(\S+)(.*)$", line)
        if rule and not line.lstrip().startswith("#"):
            rules.append([*rule.groups()[:3], *rule.group(4).split()])
    return rules


# ---------------------------------------------------------------------------------------------
# The generated stack


def test_pam_auth_update_puts_pwdir_before_pam_unix(host):
    """pam-auth-update writes pam_pwdir.so first in common-auth, common-account and
    common-password, before pam_unix; its success jumps over pam_unix and pam_deny to
    pam_permit; pam_unix, second, takes pwdir's password (try_first_pass) and new password
    (use_authtok); PAM_IGNORE from pwdir (a user it does not know) goes on to pam_unix."""
    for name in ("auth", "account", "password"):
        rules = stack_lines(host.stack[name])
        modules = [rule[2] for rule in rules]
        assert "pam_pwdir.so" in modules and "pam_unix.so" in modules, "common-%s:\n%s" % (name, host.stack[name])
        pwdir, unix = modules.index("pam_pwdir.so"), modules.index("pam_unix.so")
        assert pwdir < unix, "pam_pwdir.so is not before pam_unix.so in common-%s:\n%s" % (name, host.stack[name])
        control = rules[pwdir][1]
        jump = int(control.split("success=")[1].split()[0].rstrip("]"))
        assert rules[pwdir + jump + 1][1:3] == ["required", "pam_permit.so"], \
            "pwdir's success in common-%s does not land on pam_permit: %s" % (name, control)
        assert "user_unknown=ignore" in control and "default=" in control, control
        if name == "auth":
            assert "try_first_pass" in rules[unix], "pam_unix does not take pwdir's password: %s" % rules[unix]
        if name == "password":
            assert "ignore=ignore" in control, "PAM_IGNORE from pwdir falls under default=die: %s" % control
            assert "use_authtok" not in rules[pwdir] and "use_authtok" in rules[unix], rules
    seen = host.sh("cat /var/lib/pam/seen", quiet=True).out.split()
    assert "pwdir" in seen, "pam-auth-update did not record the profile as seen: %s" % seen


# ---------------------------------------------------------------------------------------------
# A healthy directory


def test_logins_through_the_generated_stack(host):
    """With the directory in place, root, the local user and both pwdir users log in through the
    `login` service with their passwords (authenticate, acct_mgmt), and each is refused with a
    wrong one; pwdir counted its own users' failures only."""
    for user in ("root", LOCAL, PWUSER, PWNSS):
        login_ok(host, user, PASSWORDS[user])
    refused(host, [(user, WRONG) for user in ("root", LOCAL, PWUSER, PWNSS)])
    for user in (PWUSER, PWNSS):
        shown = host.sh("%s user show %s --json" % (host.pwdir, user), quiet=True).out.replace(" ", "")
        assert '"failures":1' in shown, "pwdir did not count %s's wrong password:\n%s" % (user, shown)
    tallies = host.sh("ls -A %s" % TALLIES, quiet=True).out.split()
    assert LOCAL not in tallies and "root" not in tallies, "pwdir keeps a tally for users it does not know: %s" % tallies


def test_su_as_an_unprivileged_user(host):
    """su, run by nobody, to root, to the local user and to the pwdir user who exists for NSS:
    the right password opens a shell as that user, a wrong one is refused ("su: Authentication
    failure"). A pwdir user without a passwd entry cannot be su'd to at all (su refuses before
    PAM)."""
    for target in ("root", LOCAL, PWNSS):
        result = su(host, target, PASSWORDS[target])
        assert result.ok and "as=%s" % target in result.output, "su - %s failed:\n%s" % (target, result)
    with ThreadPoolExecutor(max_workers=2) as pool:
        wrong = list(pool.map(lambda target: su(host, target, WRONG), ("root", PWNSS)))
    for result in wrong:
        assert not result.ok and AUTH_FAILED in result.output and "as=" not in result.output, str(result)
    shown = host.sh("%s user show %s --json" % (host.pwdir, PWNSS), quiet=True).out.replace(" ", "")
    assert '"failures":1' in shown, "su's wrong password for %s did not reach pwdir:\n%s" % (PWNSS, shown)
    missing = at_terminal(host, ["su", "-", PWUSER, "-c", "true"], "nobody").finish()
    assert not missing.ok and "does not exist" in missing.output, str(missing)


def test_passwd_by_root(host):
    """Root runs passwd for the local user and for itself: no current password asked, the new
    one twice; the copied shadow changes, the new password logs in, the old one is refused, and
    the directory is left as it was (pwdir does not know these users: it only collects the new
    password for pam_unix). chpasswd (Debian's goes through PAM: common-password) works too."""
    directory = digest(host, DIRECTORY)
    new = {LOCAL: "Saffron-Beacon-2650", "root": "Walnut-Comet-8193"}
    before = shadow_field(host, LOCAL)
    host.sh("chpasswd", stdin=lines_of("%s:%s" % (LOCAL, "Tundra-Pebble-6042")))
    assert shadow_field(host, LOCAL) != before, "chpasswd said yes but /etc/shadow kept the old hash"
    login_ok(host, LOCAL, "Tundra-Pebble-6042")
    for login in (LOCAL, "root"):
        before = shadow_field(host, login)
        result = passwd(host, login, new[login])
        assert changed_by_passwd(result), "root could not change %s's password:\n%s" % (login, result)
        assert shadow_field(host, login) not in (before, ""), "passwd said yes but /etc/shadow kept %s's hash" % login
    for login in (LOCAL, "root"):
        login_ok(host, login, new[login])
    refused(host, [(LOCAL, "Tundra-Pebble-6042"), ("root", PASSWORDS["root"])])
    assert digest(host, DIRECTORY) == directory, "changing local passwords changed pwdir's directory"


def test_passwd_by_the_local_user_itself(host):
    """The local user runs passwd (setuid root, real uid its own): pam_unix asks the current
    password, pwdir collects the new one twice and hands it to pam_unix; /etc/shadow changes and
    the new password logs in. (Before the profile passed PAM_IGNORE on, this ended in "passwd:
    Authentication token manipulation error".) A wrong current password changes nothing."""
    before = shadow_field(host, LOCAL)
    new = "Saffron-Beacon-2650"
    result = passwd(host, LOCAL, new, current=PASSWORDS[LOCAL], caller=LOCAL)
    assert changed_by_passwd(result), "%s could not change its own password:\n%s" % (LOCAL, result)
    after = shadow_field(host, LOCAL)
    assert after not in (before, ""), "passwd said yes but /etc/shadow kept the old hash"
    login_ok(host, LOCAL, new)
    conversation = at_terminal(host, ["passwd"], caller=LOCAL)
    conversation.answer("Current password: ", WRONG)
    wrong = conversation.finish(New_password="Juniper-Socket-4471", Retype_new_password="Juniper-Socket-4471")
    assert not wrong.ok and "Authentication token manipulation error" in wrong.output, str(wrong)
    assert shadow_field(host, LOCAL) == after, "a wrong current password changed /etc/shadow"


def test_pwdir_users_change_their_passwords(host):
    """`pamtester login PWUSER chauthtok` (root: no current password) changes the pwdir user's
    password; passwd run by root for the pwdir user who exists for NSS, then by that user
    itself (asked pwdir's current password), changes pwdir's password. /etc/shadow stays as it
    was (PWNSS's locked entry too); the new passwords log in, the old ones are refused."""
    shadow = digest(host, "/etc/shadow")
    new = {PWUSER: "Meadow-Lattice-3391", PWNSS: "Ember-Quarry-5726"}
    changed = pamtester(host, PWUSER, "chauthtok", answers=[new[PWUSER], new[PWUSER]])
    assert changed.ok and "authentication token altered successfully" in changed.output, str(changed)
    by_root = passwd(host, PWNSS, "Falcon-Mosaic-2208")
    assert changed_by_passwd(by_root), "root could not change %s's password with passwd:\n%s" % (PWNSS, by_root)
    result = passwd(host, PWNSS, new[PWNSS], current="Falcon-Mosaic-2208", caller=PWNSS)
    assert changed_by_passwd(result), "%s could not change its password with passwd:\n%s" % (PWNSS, result)
    assert digest(host, "/etc/shadow") == shadow, "a pwdir user's password change touched /etc/shadow"
    for login in (PWUSER, PWNSS):
        login_ok(host, login, new[login])
    refused(host, [(PWUSER, PASSWORDS[PWUSER]), (PWNSS, PASSWORDS[PWNSS]), (PWNSS, "Falcon-Mosaic-2208")])


def test_a_process_without_root_checks_its_own_password(host):
    """pamtester run as the user itself (a screen locker): pam_pwdir asks pwdir-chkpwd, which
    answers for the local user "not mine" (pam_unix then checks through unix_chkpwd) and checks
    the pwdir user itself; right passwords pass, wrong ones are refused."""
    login_ok(host, LOCAL, PASSWORDS[LOCAL], caller=LOCAL)
    login_ok(host, PWNSS, PASSWORDS[PWNSS], caller=PWNSS)
    refused(host, [(LOCAL, WRONG), (PWNSS, WRONG)], caller="self")


# ---------------------------------------------------------------------------------------------
# A broken directory or settings


BREAKAGES = {
    "directory missing": "rm %s" % DIRECTORY,
    "directory not root's": "chown 65534:65534 %s" % DIRECTORY,
    "directory world-writable": "chmod 0666 %s" % DIRECTORY,
    "directory corrupt": "printf 'garbage appended\\n' >> %s" % DIRECTORY,
    "settings malformed": "printf 'deny = many\\n' > %s" % SETTINGS,
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_broken_pwdir_fails_closed_for_its_users_only(host, breakage):
    """With the directory missing, unsafe or corrupt, or the settings malformed: pwdir's users
    are refused even with the right password, login and chauthtok (PAM_AUTHINFO_UNAVAIL: their
    tallies say they are pwdir's), while root and the local user still log in, and su to root
    still works."""
    tallies = host.sh("ls -A %s" % TALLIES, quiet=True).out.split()
    assert PWUSER in tallies and PWNSS in tallies, "the pwdir users have no tally: %s" % tallies
    host.sh(BREAKAGES[breakage])
    refused(host, [(PWUSER, PASSWORDS[PWUSER]), (PWNSS, PASSWORDS[PWNSS])], why=UNAVAILABLE)
    change = pamtester(host, PWUSER, "chauthtok", answers=["Meadow-Lattice-3391"] * 2)
    assert not change.ok and UNAVAILABLE in change.output, str(change)
    for user in ("root", LOCAL):
        login_ok(host, user, PASSWORDS[user])
    result = su(host, "root", PASSWORDS["root"], caller=LOCAL)
    assert result.ok and "as=root" in result.output, "su - root failed with pwdir broken:\n%s" % result


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_broken_pwdir_local_passwords_still_change(host, breakage):
    """With the directory missing, unsafe or corrupt, or the settings malformed, the local user
    changes its own password with passwd (current, then new twice) and root changes its own; the
    new passwords log in."""
    host.sh(BREAKAGES[breakage])
    new = {LOCAL: "Saffron-Beacon-2650", "root": "Walnut-Comet-8193"}
    result = passwd(host, LOCAL, new[LOCAL], current=PASSWORDS[LOCAL], caller=LOCAL)
    assert changed_by_passwd(result), "%s could not change its password with pwdir broken:\n%s" % (LOCAL, result)
    result = passwd(host, "root", new["root"])
    assert changed_by_passwd(result), "root could not change its password with pwdir broken:\n%s" % result
    for login in (LOCAL, "root"):
        login_ok(host, login, new[login])


# The same from a process without root (a screen locker), where pwdir-chkpwd answers: the
# module reads nothing itself (neither the settings nor the accounts) and asks the helper.
LOCKER_CASES = {name: BREAKAGES[name] for name in ("directory missing", "directory corrupt", "settings malformed")}
LOCKER_CASES["settings root-only"] = "printf 'deny = 5\\n' > %s && chmod 0600 %s" % (SETTINGS, SETTINGS)


@pytest.mark.parametrize("breakage", list(LOCKER_CASES))
def test_broken_pwdir_at_a_screen_locker(host, breakage):
    """Without root (pamtester run by the user itself): with the directory missing or corrupt, or
    the settings malformed, the local user still unlocks its screen (pwdir-chkpwd
    says "not mine", unix_chkpwd checks) and the pwdir user is refused; with valid settings
    readable by root only, both unlock (the helper reads them as root)."""
    host.sh(LOCKER_CASES[breakage])
    login_ok(host, LOCAL, PASSWORDS[LOCAL], caller=LOCAL)
    if breakage in BREAKAGES:
        refused(host, [(PWNSS, PASSWORDS[PWNSS])], why=UNAVAILABLE, caller="self")
    else:
        login_ok(host, PWNSS, PASSWORDS[PWNSS], caller=PWNSS)


def test_without_directory_and_tallies_pwdir_users_fall_through_to_pam_unix(host):
    """Directory gone but tallies left: pwdir's users fail closed, even with a password pam_unix
    would accept (PWNSS is given one in /etc/shadow). Directory AND tallies gone: pwdir no longer
    knows them (PAM_USER_UNKNOWN) and the stack goes on to pam_unix — PWUSER, unknown to it too,
    is refused by pam_deny ("Authentication failure"), and PWNSS now logs in with its shadow
    password."""
    shadow_password = "Cobalt-Harvest-1187"
    hashed = host.sh("openssl passwd -6 -stdin", stdin=lines_of(shadow_password), quiet=True).out.strip()
    host.run(["usermod", "-p", hashed, PWNSS])
    host.sh("rm %s" % DIRECTORY)
    refused(host, [(PWUSER, PASSWORDS[PWUSER]), (PWNSS, shadow_password)], why=UNAVAILABLE)
    host.sh("rm -r %s" % TALLIES)
    refused(host, [(PWUSER, PASSWORDS[PWUSER])], why=AUTH_FAILED)
    login_ok(host, PWNSS, shadow_password)
    login_ok(host, "root", PASSWORDS["root"])
