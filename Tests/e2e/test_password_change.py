"""Changing passwords: the whole story of a temporary password, forced changes, chauthtok and
the password policy (length, libpwquality, history), passwords typed on stdin or at a terminal."""
import os
import re

import pexpect

from pwdir_e2e import NOBODY, lines_of, password_hash_field


def mode_of(path) -> str:
    return "%o" % (path.stat().st_mode & 0o7777)


def test_story_temporary_password_to_own_password(world):
    """The administrator creates ana and generates a password (printed once, alone on the last
    line, never stored in clear); ana logs in with it, is told to change it, changes it; the new
    one works, the old one no longer does; the directory stays mode 600 throughout."""
    world.init()
    assert mode_of(world.db) == "600", "pwdir init made the directory mode %s" % mode_of(world.db)
    world.pw_ok("user", "add", "ana")
    generated = world.pw_ok("passwd", "ana", "--generate").out
    first = generated.splitlines()[-1]
    world.secret(first)
    assert re.fullmatch(r"\S{12,}", first), "the last stdout line of passwd --generate is not a password alone: %r" % first
    assert sum(first in line for line in generated.splitlines()) == 1, "the generated password appears on more than one line"
    assert first.encode() not in world.snapshot(), "the generated password is in the directory file in plain text"
    assert mode_of(world.db) == "600", "after passwd the directory is mode %s" % mode_of(world.db)

    world.login_ok("ana", first)
    result = world.pam("ana", "authenticate", "acct_mgmt", answers=[first])
    assert not result.ok, "acct_mgmt accepted an administrator-set password that must be changed"
    assert "Authentication token is no longer valid; new one required" in result.output, str(result)

    new = "Blue-Heron-Sings-7"
    result = world.pam("ana", "authenticate", "chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK)", answers=[first, new, new])
    assert result.ok, "changing the expired password failed:\n%s" % result
    world.login_ok("ana", new, "authenticate", "acct_mgmt")
    world.login_refused("ana", first)
    assert new.encode() not in world.snapshot(), "the new password is in the directory file in plain text"
    assert mode_of(world.db) == "600", "after chauthtok the directory is mode %s" % mode_of(world.db)


def test_no_force_change(world):
    """--no-force-change: the password passes acct_mgmt; without it (the default) a change is required."""
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    world.login_ok("ana", "Right-Password-1", "authenticate", "acct_mgmt")
    world.pw_ok("passwd", "ana", "--stdin", stdin=lines_of("Other-Password-2"))
    assert "new one required" in world.login_refused("ana", "Other-Password-2", "authenticate", "acct_mgmt").output


def test_chauthtok_policy(world):
    """chauthtok as root refuses a new password under minlen (saying the minimum), a mismatch
    (saying so) and the current one (saying why), each leaving the directory as it was; with
    PAM_CHANGE_EXPIRED_AUTHTOK and no authenticate before, the current password is asked and a
    wrong one refused; a valid change works."""
    world.init()
    current = "Current-Pass-42"
    world.user_with_password("ana", current)
    before = world.snapshot()

    result = world.pam("ana", "chauthtok", answers=["Short-1", "Short-1"])
    assert not result.ok, "a 7-character new password was accepted (minlen 12)"
    world.assert_unchanged(before, "a refused short password")
    assert "12" in result.output, "the refusal of a short password does not say the minimum (12):\n%s" % result
    assert not world.pam("ana", "chauthtok", answers=["Elevenchars", "Elevenchars"]).ok, \
        "an 11-character new password was accepted (minlen 12)"
    world.assert_unchanged(before, "a refused 11-character password")
    result = world.pam("ana", "chauthtok", answers=["Long-Enough-Pass-1", "Long-Enough-Pass-2"])
    assert not result.ok, "mismatched new passwords were accepted"
    world.assert_unchanged(before, "a refused mismatch")
    assert "match" in result.output.lower(), "the refusal of a mismatch does not say so:\n%s" % result
    result = world.pam("ana", "chauthtok", answers=[current, current])
    assert not result.ok, "the current password was accepted as the new one"
    world.assert_unchanged(before, "a refused same-as-current password")
    assert re.search(r"same|current|reuse|used", result.output, re.I), \
        "the refusal of the current password does not say why:\n%s" % result
    world.login_ok("ana", current)

    result = world.pam("ana", "chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK)",
                       answers=["Wrong-Current-1", "Brand-New-Pass-1", "Brand-New-Pass-1"])
    assert not result.ok, "chauthtok(PAM_CHANGE_EXPIRED_AUTHTOK) accepted a wrong current password"
    world.assert_unchanged(before, "a refused wrong current password (PAM_CHANGE_EXPIRED_AUTHTOK)")
    world.login_ok("ana", current)
    world.login_refused("ana", "Brand-New-Pass-1")

    # so the refusals above are not a broken chauthtok
    result = world.pam("ana", "chauthtok", answers=["Root-Set-Pass-1", "Root-Set-Pass-1"])
    assert result.ok, "a valid chauthtok as root failed:\n%s" % result
    world.login_ok("ana", "Root-Set-Pass-1")
    world.login_refused("ana", current)


def test_policy_refusal_says_why(world, note):
    """A password holding the login: if the policy refuses it (pwquality's usercheck), the module
    and the command both refuse it and say why, leaving the directory as it was."""
    world.init()
    world.user_with_password("carol", "Wd6-Harbor-Nx2k")
    before = world.snapshot()
    holding_login = "Xq7-carol-Lm4-Tz9"
    result = world.pam("carol", "chauthtok", answers=[holding_login, holding_login])
    if result.ok:
        note("the policy accepts a password holding the login")
        return
    world.assert_unchanged(before, "a refused password holding the login")
    assert re.search(r"user ?name|login", result.output, re.I), \
        "the refusal of a password holding the login does not say why:\n%s" % result
    command = world.pw("passwd", "carol", "--stdin", "--no-force-change", stdin=lines_of(holding_login))
    assert not command.ok, "pwdir passwd accepted a password holding the login, which the module refuses"
    assert re.search(r"user ?name|login", command.err, re.I), "pwdir passwd's refusal does not say why:\n%s" % command
    world.assert_unchanged(before, "a refused pwdir passwd")


def test_chauthtok_not_root_asks_current_password(world):
    """Run as another uid (65534, owning its directory), chauthtok asks the current password and
    refuses a wrong or empty one, directory untouched; with the right one the change works and
    the rewritten directory keeps its owner."""
    own = world.path("nb")
    own.mkdir()
    world.use_directory(own / "users")
    world.init()
    world.user_with_password("ana", "Current-Pass-42")
    for path in [own, *own.rglob("*")]:
        os.chown(path, NOBODY, NOBODY)
    before = world.snapshot()

    assert world.pam("ana", answers=["Current-Pass-42"], as_nobody=True).ok, "ana cannot log in as uid %d" % NOBODY
    result = world.pam("ana", "chauthtok", answers=["Wrong-Current-1", "Brand-New-Pass-1", "Brand-New-Pass-1"], as_nobody=True)
    assert not result.ok, "a non-root chauthtok with a wrong current password succeeded"
    assert "Current password" in result.output, "a non-root chauthtok did not ask for the current password"
    world.assert_unchanged(before, "a non-root chauthtok with a wrong current password")
    result = world.pam("ana", "chauthtok", answers=["", "Brand-New-Pass-1", "Brand-New-Pass-1"], as_nobody=True)
    assert not result.ok, "a non-root chauthtok with an empty current password succeeded"
    world.assert_unchanged(before, "a non-root chauthtok with an empty current password")
    result = world.pam("ana", "chauthtok", answers=["Current-Pass-42", "Brand-New-Pass-1", "Brand-New-Pass-1"], as_nobody=True)
    assert result.ok, "a non-root chauthtok with the right current password failed:\n%s" % result
    assert world.pam("ana", answers=["Brand-New-Pass-1"], as_nobody=True).ok, "the password changed as uid %d does not work" % NOBODY
    assert not world.pam("ana", answers=["Current-Pass-42"], as_nobody=True).ok, "the old password still works"
    assert world.db.stat().st_uid == NOBODY, "the module's rewrite changed the directory owner to %d" % world.db.stat().st_uid


def test_password_history(world):
    """remember = 5 (the default): neither the previous password nor the administrator-set one
    may come back, and the history holds no password in clear; remember = 0 allows reuse."""
    world.init()
    world.user_with_password("ana", "Kv4-Admin-Set-Tq9")
    for password in ("Rb7-First-Own-Wx2", "Jm3-Second-Own-Pz8"):
        result = world.pam("ana", "chauthtok", answers=[password, password])
        assert result.ok, "a change to %s failed:\n%s" % (password, result)
    before = world.snapshot()
    assert not world.pam("ana", "chauthtok", answers=["Rb7-First-Own-Wx2"] * 2).ok, \
        "the password before the current one was accepted again (remember = 5)"
    world.assert_unchanged(before, "a refused reuse")
    assert not world.pam("ana", "chauthtok", answers=["Kv4-Admin-Set-Tq9"] * 2).ok, \
        "the administrator-set password was accepted again (remember = 5)"
    world.assert_unchanged(before, "a refused reuse of the administrator-set password")
    assert b"Kv4-Admin-Set-Tq9" not in world.snapshot(), "the history holds a password in plain text"
    world.login_ok("ana", "Jm3-Second-Own-Pz8")
    world.write_conf("remember = 0")  # so the refusals above come from the history
    result = world.pam("ana", "chauthtok", answers=["Rb7-First-Own-Wx2"] * 2)
    assert result.ok, "with remember = 0 an old password was refused:\n%s" % result
    world.login_ok("ana", "Rb7-First-Own-Wx2")


def test_passwd_from_stdin(world):
    """`passwd --stdin` sets the password read from stdin without echoing it or storing it in
    clear; one too short for the policy is refused and nothing is written."""
    world.init()
    world.pw_ok("user", "add", "ana")
    result = world.pw_ok("passwd", "ana", "--stdin", "--no-force-change", stdin=lines_of("Correct-Horse-42"))
    assert "Correct-Horse-42" not in result.out, "passwd --stdin echoed the password"
    assert b"Correct-Horse-42" not in world.snapshot(), "the password is in the directory file in plain text"
    world.login_ok("ana", "Correct-Horse-42", "authenticate", "acct_mgmt")
    world.login_refused("ana", "Correct-Horse-43")
    before = world.snapshot()
    assert not world.pw("passwd", "ana", "--stdin", "--no-force-change", stdin=lines_of("short")).ok, \
        "passwd --stdin accepted a 5-character password"
    world.assert_unchanged(before, "a refused short --stdin password")
    world.login_ok("ana", "Correct-Horse-42")


def test_passwd_typed_twice_at_a_terminal(world):
    """`pwdir passwd NAME` at a terminal asks the password twice without echoing it; a mismatch is
    refused with nothing written; a match sets it (must be changed at the next login)."""
    world.init()
    world.pw_ok("user", "add", "ana")
    before = world.snapshot()
    for second, works in (("Typed-At-Tty-Pass-2", False), ("Typed-At-Tty-Pass-1", True)):
        child = pexpect.spawn(str(world.binaries.pwdir), ["passwd", "ana"], env=world.env, encoding="utf-8", timeout=30)
        child.expect_exact("New password for ana: ")
        assert child.waitnoecho(timeout=10), "the terminal still echoes at the password prompt"
        child.sendline("Typed-At-Tty-Pass-1")
        child.expect_exact("Retype new password: ")
        assert child.waitnoecho(timeout=10), "the terminal still echoes at the second prompt"
        child.sendline(second)
        child.expect(pexpect.EOF)
        child.close()
        said = child.before
        print("pwdir passwd ana (at a terminal) -> %s: %r" % (child.exitstatus, said))
        assert "Typed-At-Tty-Pass" not in said, "the typed password was echoed: %r" % said
        if works:
            assert child.exitstatus == 0, "typing the same password twice failed: %r" % said
            world.must_change("ana", "Typed-At-Tty-Pass-1")
        else:
            assert child.exitstatus != 0, "two different passwords were accepted"
            world.assert_unchanged(before, "a mismatch typed at the terminal")


def test_settings_reach_command_and_module(world):
    """minlen = 16 applies to `pwdir passwd` (PWDIR_CONFIG) and to chauthtok (config=), whose
    refusal says the minimum; a malformed settings line makes the module fail closed and the
    command name the line."""
    world.write_conf("# test settings", "minlen = 16")
    world.init()
    world.pw_ok("user", "add", "ana")
    result = world.pw("passwd", "ana", "--stdin", "--no-force-change", stdin=lines_of("Fifteen-chars-1"))
    assert not result.ok, "pwdir passwd accepted 15 characters with minlen = 16"
    assert re.search(r"^pwdir: ", result.err, re.M), "unclear refusal:\n%s" % result
    world.pw_ok("passwd", "ana", "--stdin", "--no-force-change", stdin=lines_of("Sixteen-chars-12"))
    before = world.snapshot()
    result = world.pam("ana", "chauthtok", answers=["Fifteen-chars-2"] * 2)
    assert not result.ok, "the module accepted 15 characters with minlen = 16"
    assert "16" in result.output, "the module's refusal does not say the minimum (16):\n%s" % result
    world.assert_unchanged(before, "a refused chauthtok")
    result = world.pam("ana", "chauthtok", answers=["Seventeen-chars-1"] * 2)
    assert result.ok, "a 17-character password was refused:\n%s" % result
    world.login_ok("ana", "Seventeen-chars-1")
    world.write_conf("minlen = 16", "deny = lots")
    world.login_refused("ana", "Seventeen-chars-1")
    assert "line 2" in world.expect_clean_error("user", "list").err, "the settings error does not name line 2"


def test_expire_and_allow_weak(world):
    """--expire forces a change at the next login and leaves the hash alone; a weak password is
    refused with pwquality's reason, nothing written; --allow-weak takes it, says so and records it."""
    world.init()
    world.user_with_password("ana", "Right-Password-1")
    before = world.snapshot()
    world.pw_ok("passwd", "ana", "--expire")
    world.login_ok("ana", "Right-Password-1")
    assert "change your password" in world.login_refused("ana", "Right-Password-1", "acct_mgmt").output
    assert password_hash_field(before).encode() in world.snapshot(), "--expire changed the password hash"
    before = world.snapshot()
    result = world.pw("passwd", "ana", "--stdin", stdin=lines_of("aaaaaaaaaaaaaaaa"))
    assert not result.ok, "a palindrome passed the policy"
    assert re.search(r"^pwdir: password refused: .*palindrome", result.err, re.M), \
        "the refusal does not give pwquality's reason:\n%s" % result
    world.assert_unchanged(before, "a refused weak password")
    result = world.pw_ok("passwd", "ana", "--stdin", "--allow-weak", "--no-force-change", stdin=lines_of("aaaaaaaaaaaaaaaa"))
    assert "allow-weak" in result.out, "--allow-weak is not said"
    assert '"policyOverride"' in world.pw_ok("user", "show", "ana", "--json").out, "--allow-weak is not recorded"
    world.login_ok("ana", "aaaaaaaaaaaaaaaa")
