"""Logging in through the module: account states, lockout after failed logins, parallel
failures, module arguments, and what a login costs (unknown user vs wrong password, a
100,000-user directory)."""
import glob
import re

import pytest

from pwdir_e2e import lines_of, median, ms, write_directory_file, password_hash_field

PAM_SET_ITEMS = next(iter(sorted(glob.glob("/usr/lib/*/pam_wrapper/pam_set_items.so") +
                                 glob.glob("/usr/lib*/pam_wrapper/pam_set_items.so"))), None)


def test_wrong_password_refused(world):
    """The right password logs in; a wrong one, an empty one, a prefix and an extension of it do not."""
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    world.login_ok("ana", "Right-Password-1")
    assert "Authentication failure" in world.login_refused("ana", "Wrong-Password-1").output
    for password in ["", "Right-Password-", "Right-Password-11"]:
        world.login_refused("ana", password)


def test_unknown_user_refused(world):
    """An unknown login is PAM_USER_UNKNOWN, even with a known user's password; names are not
    matched loosely (a suffix after ':', another case)."""
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    result = world.login_refused("nosuchuser", "Right-Password-1")
    assert "User not known to the underlying authentication module" in result.output
    world.login_refused("ana:x", "Right-Password-1")
    world.login_refused("ANA", "Right-Password-1")


def test_lock_and_unlock(world):
    """`pwdir lock` refuses every login (PAM_PERM_DENIED, the user is told it is locked) and
    acct_mgmt; `pwdir unlock` lets the user in again."""
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    world.login_ok("ana", "Right-Password-1")
    world.pw_ok("lock", "ana")
    result = world.login_refused("ana", "Right-Password-1")
    assert "Permission denied" in result.output
    assert "locked" in result.output.lower(), "the user is not told the account is locked"
    world.login_refused("ana", "Wrong-Password-1")
    world.login_refused("ana", "Right-Password-1", "acct_mgmt")
    world.pw_ok("unlock", "ana")
    world.login_ok("ana", "Right-Password-1", "authenticate", "acct_mgmt")


def test_no_password_cannot_log_in(world):
    """A user added without a password cannot log in with anything, nor pass acct_mgmt."""
    world.init()
    world.pw_ok("user", "add", "bob")
    for password in ["", "Any-Password-123", "x"]:
        world.login_refused("bob", password)
    world.login_refused("bob", "Any-Password-123", "acct_mgmt")


def test_lockout_after_deny_failures(world):
    """deny = 3 failures in a row lock the account (the user is told; right and wrong passwords
    then get the same answer; acct_mgmt refuses); a success resets the count; `pwdir unlock`
    reactivates and clears the count; deny = 0 never locks."""
    world.write_conf("deny = 3")
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    world.login_refused("ana", "Wrong-Password-1")
    world.login_refused("ana", "Wrong-Password-2")
    world.login_ok("ana", "Right-Password-1")  # resets the count
    for n in (1, 2, 3):
        world.login_refused("ana", "Wrong-Password-%d" % n)
    right = world.login_refused("ana", "Right-Password-1")
    assert "locked" in right.output.lower(), "a user locked by failures is not told so"
    wrong = world.login_refused("ana", "Wrong-Password-4")
    assert [re.sub(r"\(\d*\)", "", text) for text in (right.out, right.err)] == \
        [re.sub(r"\(\d*\)", "", text) for text in (wrong.out, wrong.err)], \
        "a locked account answers differently to the right and a wrong password (pids aside)"
    world.login_refused("ana", "Right-Password-1", "acct_mgmt")
    world.pw_ok("unlock", "ana")
    world.login_ok("ana", "Right-Password-1", "authenticate", "acct_mgmt")
    # unlock cleared the count: two more failures do not lock
    world.login_refused("ana", "Wrong-Password-1")
    world.login_refused("ana", "Wrong-Password-2")
    world.login_ok("ana", "Right-Password-1")
    world.write_conf("deny = 0")
    for n in range(1, 7):
        world.login_refused("ana", "Wrong-Password-%d" % n)
    world.login_ok("ana", "Right-Password-1")


def test_new_password_from_an_administrator_lifts_a_failure_lock(world):
    """As the seeds say ("only the account administrator can unlock it by generating a temporary
    password"): `passwd --stdin` and `passwd --generate` on an account locked by failed logins lift
    that lock and say so; an administrator's own `pwdir lock` stays until `pwdir unlock`, and the
    command says that too."""
    world.write_conf("deny = 3", "unlock_time = 0")
    world.init()
    world.user_with_password("ana", "Right-Password-1")

    def lock_by_failures():
        for n in (1, 2, 3):
            world.login_refused("ana", "Wrong-Password-%d" % n)
        world.login_refused("ana", "Right-Password-1")

    lock_by_failures()
    typed = world.pw_ok("passwd", "ana", "--stdin", "--no-force-change", stdin=lines_of("Fresh-Start-Pass-2"))
    assert "its lock from failed logins is lifted" in typed.out, str(typed)
    world.login_ok("ana", "Fresh-Start-Pass-2", "authenticate", "acct_mgmt")
    assert world.show("ana")["failures"] == 0
    lock_by_failures()
    generated = world.pw_ok("passwd", "ana", "--generate")
    assert "its lock from failed logins is lifted" in generated.out, str(generated)
    world.must_change("ana", generated.out.splitlines()[-1])
    world.pw_ok("lock", "ana")
    kept = world.pw_ok("passwd", "ana", "--stdin", "--no-force-change", stdin=lines_of("Third-Start-Pass-3"))
    assert "still locked by an administrator until 'pwdir unlock'" in kept.out, str(kept)
    world.login_refused("ana", "Third-Start-Pass-3")
    world.pw_ok("unlock", "ana")
    world.login_ok("ana", "Third-Start-Pass-3", "authenticate", "acct_mgmt")


def test_parallel_failures_all_counted(world):
    """30 wrong passwords at once are all counted; 30 right ones at once (deny = 3) lock nobody."""
    world.write_conf("deny = 100")
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    world.pam_parallel([("ana", ["Wrong-%d" % i]) for i in range(1, 31)])
    failures = world.show("ana")["failures"]
    assert failures == 30, "30 parallel failures were not all counted: failures = %s" % failures
    world.pw_ok("unlock", "ana")
    world.write_conf("deny = 3")
    results = world.pam_parallel([("ana", ["Right-Password-1"])] * 30)
    refused = [r for r in results if not r.ok]
    assert not refused, "%d of 30 parallel right logins were refused:\n%s" % (len(refused), refused[0])
    world.login_ok("ana", "Right-Password-1", "authenticate", "acct_mgmt")


def test_user_show_says_why_and_until_when(world):
    """`user show` says whether an account is usable, and if not why (failed logins or the
    administrator), since and until when; `user list --locked` lists exactly the locked users;
    `unlock` says what it lifted."""
    world.write_conf("deny = 3", "unlock_time = 600")
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    world.user_with_password("bo", "Right-Password-2")
    world.user_with_password("cy", "Right-Password-3")
    for n in (1, 2, 3):
        world.login_refused("ana", "Wrong-%d" % n)
    world.pw_ok("lock", "bo")
    ana, bo = world.show("ana"), world.show("bo")
    assert ana["locked"] and not ana["usable"] and ana["lockReason"] == "failures", ana
    assert ana["failures"] == 3 and ana["lockedSince"] and ana["lockedUntil"] and ana["lastFailure"], ana
    assert bo["locked"] and bo["lockReason"] == "administrator" and bo["lockedBy"] == "root" and bo["lockedSince"], bo
    assert bo.get("lockedUntil") is None, bo
    text = world.pw_ok("user", "show", "ana").out
    assert re.search(r"usable.*no: locked after 3 failed logins.*until", text), "user show lacks the reason and until when"
    listed = world.pw_ok("user", "list", "--locked").out
    assert re.search(r"^ana ", listed, re.M) and re.search(r"^bo ", listed, re.M), "list --locked misses a locked user"
    assert not re.search(r"^cy ", listed, re.M), "list --locked lists an unlocked user"
    assert "locked after 3 failed logins" in world.pw_ok("unlock", "ana").out, "unlock does not say what it lifted"
    world.login_ok("ana", "Right-Password-1", "authenticate", "acct_mgmt")


def test_unknown_user_costs_what_a_wrong_password_costs(world, note):
    """An unknown login and a wrong password take the same time (medians of 15 alternating runs
    within [0.8, 1.25]; a second round if the first is out, so a burst of load on a shared
    machine is not taken for a timing oracle: a real one, such as a skipped hash, is out every time)."""
    world.write_conf("deny = 1000")  # every wrong password takes the wrong-password path, never the locked one
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    world.pam("ana", answers=["x"], quiet=True)  # warm the caches
    world.pam("nosuchuser", answers=["x"], quiet=True)
    for _ in range(2):
        wrong, unknown = [], []
        for _ in range(15):
            for user, times in (("ana", wrong), ("nosuchuser", unknown)):
                result = world.pam(user, answers=["Wrong-Password-1"], quiet=True)
                assert not result.ok, "%s logged in with a wrong password:\n%s" % (user, result)
                times.append(result.seconds)
        ratio = median(unknown) / median(wrong)
        note("median wrong password %s, unknown user %s, ratio %.3f" % (ms(median(wrong)), ms(median(unknown)), ratio))
        if 0.8 <= ratio <= 1.25:
            return
    raise AssertionError("unknown user / wrong password time ratio %.3f is outside [0.8, 1.25] (twice)" % ratio)


@pytest.mark.parametrize("fmt", [1, 2], ids=["one-file", "shards"])
def test_login_in_a_100000_user_directory(world, note, fmt):
    """Users anywhere in a 100,000-user directory (in format 2: migrated from the same file) log
    in; one with no password and one beyond the last are refused; a login there costs at most
    20 ms more than in a 1-user directory (medians of 9 alternating runs, two rounds: reading
    the whole file would cost about 200 ms)."""
    world.write_conf("deny = 1000")  # the timed wrong passwords must not lock the users
    world.init()
    world.user_with_password("u000000", "Right-Password-1")
    hash_field = password_hash_field(world.snapshot())
    chosen = {"u000000", "u049999", "u050000", "u099999"}
    big = world.path("big")
    write_directory_file(big, ["uid=u%06d\tcn=User %06d" % (i, i) + ("\t" + hash_field if "u%06d" % i in chosen else "")
                               for i in range(100000)])
    if fmt == 2:
        world.pw_ok("migrate", "--db", str(big))
    world.write_service("big", db=big)
    for user in sorted(chosen):
        world.login_ok(user, "Right-Password-1", service="big")
    world.login_refused("u000001", "Right-Password-1", service="big")
    assert "User not known" in world.login_refused("u100000", "Right-Password-1", service="big").output
    for _ in range(2):
        small, large = [], []
        for _ in range(9):
            small.append(world.pam("u000000", answers=["Wrong-Password-1"], quiet=True).seconds)
            large.append(world.pam("u050000", answers=["Wrong-Password-1"], service="big", quiet=True).seconds)
        extra = median(large) - median(small)
        note("median login: 1 user %s, 100,000 users in format %d %s" % (ms(median(small)), fmt, ms(median(large))))
        if extra <= 0.020:
            return
    raise AssertionError("a login in a 100,000-user directory costs %s more than in a 1-user one (twice)" % ms(extra))


def test_unknown_module_argument_logged_and_ignored(world):
    """An unknown module argument is logged by name and otherwise ignored."""
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    world.write_service(extra="frobnicate=1")
    result = world.pam("ana", "authenticate", "acct_mgmt", answers=["Right-Password-1"], debug=True)
    assert result.ok, str(result)
    assert "unknown module argument" in result.output, "the unknown argument is not logged"
    assert "frobnicate" in result.output, "the log does not name the unknown argument"
    world.login_refused("ana", "Wrong-Password-1")


@pytest.mark.skipif(PAM_SET_ITEMS is None, reason="pam_set_items.so (pam_wrapper) not found")
def test_first_pass_and_authtok_from_a_module_above(world):
    """use_first_pass takes the password from a module above and never prompts; try_first_pass
    prompts when there is none; use_authtok takes the new password from above, under the policy."""
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    module = "%s %s" % (world.binaries.module, world.module_args())
    # pam_set_items (from pam_wrapper) copies PAM_AUTHTOK from the environment into the item
    world.write_service_lines("ufp", ["auth required " + PAM_SET_ITEMS, "auth required %s use_first_pass" % module])
    world.write_service_lines("tfp", ["auth required " + PAM_SET_ITEMS, "auth required %s try_first_pass" % module])
    world.write_service_lines("uat", ["password required " + PAM_SET_ITEMS, "password required %s use_authtok" % module])

    result = world.pam("ana", service="ufp", answers=None, env={"PAM_AUTHTOK": "Right-Password-1"})
    assert result.ok, "use_first_pass with the right token failed:\n%s" % result
    assert "Password:" not in result.output, "use_first_pass prompted although a token was set"
    result = world.pam("ana", service="ufp", answers=None, env={"PAM_AUTHTOK": "Wrong-Password-1"})
    assert not result.ok, "use_first_pass with a wrong token succeeded"
    assert "Password:" not in result.output, "use_first_pass prompted after a wrong token"
    assert not world.pam("ana", service="ufp", answers=["Right-Password-1"]).ok, \
        "use_first_pass without a token succeeded (it must not prompt)"
    assert world.pam("ana", service="tfp", answers=None, env={"PAM_AUTHTOK": "Right-Password-1"}).ok, \
        "try_first_pass with the right token failed"
    result = world.pam("ana", service="tfp", answers=["Right-Password-1"])
    assert result.ok and "Password:" in result.output, "try_first_pass without a token did not prompt:\n%s" % result

    before = world.snapshot()
    assert not world.pam("ana", "chauthtok", service="uat", answers=None, env={"PAM_AUTHTOK": "Short-1"}).ok, \
        "use_authtok: a 7-character token was accepted"
    world.assert_unchanged(before, "a refused use_authtok change")
    result = world.pam("ana", "chauthtok", service="uat", answers=None, env={"PAM_AUTHTOK": "Token-From-Above-1"})
    assert result.ok, "use_authtok: the change failed:\n%s" % result
    assert "New password" not in result.output, "use_authtok prompted for the new password"
    world.login_ok("ana", "Token-From-Above-1")
    world.login_refused("ana", "Right-Password-1")
