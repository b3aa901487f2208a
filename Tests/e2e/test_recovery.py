"""Self-service recovery at the password prompt: the mailed one-time code (single use, expiry,
three tries), the same answer and time for everyone, the rate limit, codes counted as failed
logins, and the help desk's `pwdir recover`. The module runs the pwdir under test for the mail;
pamtester is driven at a terminal where the code must be read from the mail between prompts."""
import re
import time

from pwdir_e2e import median

CODE_SENT = "If this account has a recovery address, a code has been sent to it."
CODE_REFUSED = "The recovery code is wrong, used up or expired"
ANA = ("--email", "ana@corp.example", "--recovery-email", "ana@home.example")


def test_recovery_at_the_prompt_and_single_use(recovery_world, mailbox):
    """An empty password starts recovery: the same words for everyone, a code like AH9M-V9FU-XFC9
    mailed to the recovery address only, then the code and the new password twice log the user
    in with it (the old one no longer works), and a notice says the password was changed; the
    same code a second time is refused."""
    world = recovery_world
    world.recovery_conf("recovery_ttl = 60", "recovery_interval = 0", "deny = 50")
    world.init()
    world.user_with_password("ana", "Old-Secret-Pass-41", *ANA, "--full-name", "Ana Lima")
    new = "Brand-New-Pass-88"
    code, said = world.recover_at_prompt("ana", "ana@home.example", new)
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", code), "the mailed code %r is not 3 groups of 4" % code
    for text in (CODE_SENT, "Recovery code: ", "New password: ", "Retype new password: "):
        assert text in said.output, "the recovery conversation lacks %r" % text
    assert mailbox.count(kind="code") == 1, "%d code mails for one request" % mailbox.count(kind="code")
    assert all(m.to == "ana@home.example" for m in mailbox.all(kind="code")), "a code went elsewhere than the recovery address"
    world.login_ok("ana", new)
    world.login_refused("ana", "Old-Secret-Pass-41")
    assert mailbox.wait("ana@home.example", "changed", 1), "no 'password was changed' notice reached ana@home.example: %s" % mailbox.all()

    # this request mails a fresh code; the old one must not work again
    result = world.try_code("ana", code, "Second-Use-Pass-51")
    assert not result.ok, "the code %s worked a second time" % code
    assert CODE_REFUSED in result.output, str(result)
    world.login_refused("ana", "Second-Use-Pass-51")
    world.login_ok("ana", new)
    assert mailbox.wait("ana@home.example", "code", 2), "the second request mailed no code"


def test_expired_recovery_code_refused(recovery_world, mailbox, tally):
    """A code is valid recovery_ttl seconds (60 here); once past its expiry (moved into the past
    while the user is at the code prompt: the module reads it after the prompt), it is refused
    and the password stays as it was."""
    world = recovery_world
    world.recovery_conf("recovery_ttl = 60", "recovery_interval = 0", "deny = 50")
    world.init()
    world.user_with_password("ana", "Old-Secret-Pass-41", *ANA)
    conversation, code = world.start_recovery("ana", "ana@home.example")
    fields = tally.fields("ana")
    assert "codeExpires" in fields, "the tally holds no codeExpires: %s" % fields
    assert int(fields["codeExpires"]) - int(fields["codeSent"]) == 60, "with recovery_ttl = 60 the code is valid %d s" % (
        int(fields["codeExpires"]) - int(fields["codeSent"]))
    now = int(time.time())
    tally.set_fields("ana", codeSent=now - 70, codeExpires=now - 10)
    conversation.answer("Recovery code: ", code)
    result = conversation.finish(New_password="Expired-Code-Pass-61", Retype_new_password="Expired-Code-Pass-61")
    assert not result.ok, "an expired code (%s, expired 10 s ago) was accepted" % code
    assert CODE_REFUSED in result.output, str(result)
    world.login_refused("ana", "Expired-Code-Pass-61")
    world.login_ok("ana", "Old-Secret-Pass-41")


def test_three_wrong_codes_kill_the_code(recovery_world, mailbox, tally):
    """Each wrong code is a try (and a failed login); after 3 the code is gone, and the right code
    no longer works (recovery_interval = 300: no new code replaces it meanwhile)."""
    world = recovery_world
    world.recovery_conf("recovery_ttl = 60", "recovery_interval = 300", "deny = 50")
    world.init()
    world.user_with_password("ana", "Old-Secret-Pass-41", *ANA)
    conversation, code = world.start_recovery("ana", "ana@home.example")
    conversation.answer("Recovery code: ", "ZZZZ-ZZZZ-ZZZ2")
    assert not conversation.finish().ok, "a wrong code was accepted"
    assert tally.fields("ana").get("codeTries") == "1", "after one wrong code the tally does not say codeTries=1"
    failures = world.show("ana")["failures"]
    assert failures == 1, "a wrong code was not counted as a failed login (failures = %s)" % failures
    assert not world.try_code("ana", "ZZZZ-ZZZZ-ZZZ3").ok, "a wrong code was accepted"
    assert not world.try_code("ana", "ZZZZ-ZZZZ-ZZZ4").ok, "a wrong code was accepted"
    assert not tally.code_alive("ana"), "after 3 wrong codes the code is still usable: %s" % tally.fields("ana")
    assert not world.try_code("ana", code, "Fourth-Try-Pass-71").ok, "the right code worked after 3 wrong tries"
    world.login_refused("ana", "Fourth-Try-Pass-71")
    world.login_ok("ana", "Old-Secret-Pass-41")


def test_recovery_off(recovery_world, mailbox):
    """recovery = no: an empty password is a wrong password (counted), no code is asked, spoken of
    or mailed."""
    world = recovery_world
    world.recovery_conf("recovery = no")
    world.init()
    world.user_with_password("ana", "Ana-Secret-Pass-11", *ANA)
    result = world.pam("ana", answers=["", "2222-3333-4444", "Never-Set-Pass-11", "Never-Set-Pass-11"])
    assert not result.ok, "an empty password logged in"
    assert "Recovery code" not in result.output, "recovery = no, yet the module asked for a recovery code"
    assert "recovery address" not in result.output, "recovery = no, yet the module spoke of a code"
    assert world.show("ana")["failures"] == 1, "the empty password was not counted as a failure"
    time.sleep(1.5)
    assert mailbox.count() == 0, "recovery = no, yet mail was sent"
    world.login_ok("ana", "Ana-Secret-Pass-11")


def normalized(text: str, login: str) -> str:
    """TEXT with the login, pids and bracketed numbers made the same for everyone."""
    text = re.sub(r"\b%s\b" % re.escape(login), "LOGIN", text)
    text = re.sub(r"\[[0-9]+\]", "[PID]", text)
    return re.sub(r"pid[ =:]*[0-9]+", "pid PID", text)


def test_same_answer_for_everyone(recovery_world, mailbox, note):
    """A user with a recovery address, a no-mailbox user and an unknown login starting recovery
    see the same words (as information, PAM_TEXT_INFO) and status and take the same time
    (medians of 7 alternating runs within 25%, up to three rounds, each run once the previous
    one's detached helper is done, the order rotating); only the first gets a code."""
    world = recovery_world
    world.recovery_conf("deny = 0")
    world.init()
    world.user_with_password("ana", "Ana-Secret-Pass-12", *ANA)
    world.user_with_password("nm", "Nm-Secret-Pass-12", "--email", "nm@corp.example", "--no-mailbox")
    assert world.show("nm").get("mailRecipient") is None, "nm has a mail recipient"
    answers = ["", "2222-3333-4444"]
    seen = {who: world.pam(who, answers=answers) for who in ("nm", "ghost")}
    time.sleep(2)
    assert mailbox.count() == 0, "mail was sent for a no-mailbox user or an unknown login: %s" % mailbox.all()
    seen["ana"] = world.pam("ana", answers=answers)
    assert mailbox.wait("ana@home.example", "code", 1), "no code reached ana@home.example (so the silence above proves nothing)"
    for who, result in seen.items():
        assert "If this account has a recovery address, a code has been sent to it" in result.out, \
            "%s was not told about the code as information (PAM_TEXT_INFO):\n%s" % (who, result)
    for who in ("nm", "ghost"):
        assert normalized(seen[who].out, who) == normalized(seen["ana"].out, "ana") and \
            normalized(seen[who].err, who) == normalized(seen["ana"].err, "ana"), \
            "%s does not see what ana sees:\n%s\n%s" % (who, seen[who], seen["ana"])
        assert seen[who].rc == seen["ana"].rc, "pamtester's status differs: ana %d, %s %d" % (seen["ana"].rc, who, seen[who].rc)

    for round_ in (1, 2, 3):
        times = {"ana": [], "nm": [], "ghost": []}
        for i in range(7):
            for who in ("ana", "nm", "ghost")[i % 3:] + ("ana", "nm", "ghost")[:i % 3]:  # nobody always first
                world.wait_for_helpers(2)
                result = world.pam(who, answers=answers, quiet=True)
                assert not result.ok, "a wrong code logged %s in" % who
                times[who].append(result.seconds)
        medians = {who: median(t) for who, t in times.items()}
        spread = max(medians.values()) / min(medians.values())
        note("round %d: ana %d ms, no-mailbox %d ms, unknown %d ms, max/min %.2f" % (
            round_, medians["ana"] * 1000, medians["nm"] * 1000, medians["ghost"] * 1000, spread))
        if spread <= 1.25:
            break
    assert spread <= 1.25, "recovery requests do not take the same time (three rounds): max/min %.2f" % spread
    time.sleep(1)
    others = [m for m in mailbox.all() if m.to != "ana@home.example"]
    assert not others, "mail went to someone other than ana's recovery address: %s" % others


def test_rate_limit(recovery_world, mailbox):
    """A second request within recovery_interval (the default, 300 s) gets the same words but no
    new code, and is in the audit trail as refused; the first code still works."""
    world = recovery_world
    world.recovery_conf("deny = 50")
    world.init()
    world.user_with_password("ana", "Ana-Secret-Pass-13", *ANA)
    conversation, code = world.start_recovery("ana", "ana@home.example")
    conversation.finish()  # no code typed: that attempt is given up
    result = world.pam("ana", answers=["", ""])
    assert not result.ok, "an empty code logged in"
    assert CODE_SENT in result.output, str(result)
    time.sleep(2)
    assert mailbox.count("ana@home.example", "code") == 1, "a second request within recovery_interval sent another code"
    result = world.try_code("ana", code, "Rate-Limit-Pass-23")
    assert result.ok, "the first code no longer works after a rate-limited request:\n%s" % result
    world.secret("Rate-Limit-Pass-23")
    world.login_ok("ana", "Rate-Limit-Pass-23")
    assert re.search(r"recovery code.*refused.*less than", world.pw_ok("log", "--user", "ana").out), \
        "the refused request is not in the audit trail"


def test_rate_limit_survives_a_used_up_code(recovery_world, mailbox, tally):
    """A code used up by 3 wrong tries does not lift the rate limit (else each 3 tries buy a new
    mail: a mail bomb, and with deny = 0 endless fresh codes to guess at)."""
    world = recovery_world
    world.recovery_conf("deny = 0")
    world.init()
    world.user_with_password("bo", "Bo-Secret-Pass-13", "--email", "bo@corp.example", "--recovery-email", "bo@home.example")
    conversation, _ = world.start_recovery("bo", "bo@home.example")
    conversation.answer("Recovery code: ", "ZZZZ-ZZZZ-ZZZ2")
    assert not conversation.finish().ok, "a wrong code logged in"
    assert not world.try_code("bo", "ZZZZ-ZZZZ-ZZZ3").ok, "a wrong code logged in"
    assert not world.try_code("bo", "ZZZZ-ZZZZ-ZZZ4").ok, "a wrong code logged in"
    assert not tally.code_alive("bo"), "3 wrong tries did not use the code up: %s" % tally.fields("bo")
    world.pam("bo", answers=["", ""])
    time.sleep(2)
    assert mailbox.count("bo@home.example", "code") == 1, \
        "a code used up by 3 wrong tries lifted the rate limit: a new code was mailed within recovery_interval"


def test_rate_limit_holds_against_parallel_requests(recovery_world, mailbox, note):
    """12 login prompts starting recovery at once mail one code, and that code works."""
    world = recovery_world
    world.recovery_conf("deny = 50")
    world.init()
    world.user_with_password("ana", "Ana-Secret-Pass-23", *ANA)
    # no answer at "Recovery code: " (end of input): the attempts spend none of the code's tries
    world.pam_parallel([("ana", [""])] * 12)
    assert mailbox.wait("ana@home.example", "code", 1), "12 parallel requests mailed no code"
    time.sleep(2)
    codes = mailbox.count("ana@home.example", "code")
    note("12 parallel requests: %d code mails" % codes)
    assert codes == 1, "12 parallel requests within recovery_interval mailed %d codes" % codes
    result = world.try_code("ana", mailbox.last_value("ana@home.example", "code"), "Parallel-Code-Pass-33")
    world.secret("Parallel-Code-Pass-33")
    assert result.ok, "the one code mailed does not work:\n%s" % result


def test_guessing_codes_locks_the_account(recovery_world, mailbox):
    """Wrong codes count as failed logins: deny of them lock the account (the user is told; user
    show says failures); a locked account cannot recover itself: its right code is refused,
    nothing changes, no new code is mailed."""
    world = recovery_world
    world.recovery_conf("deny = 3")
    world.init()
    world.user_with_password("ana", "Ana-Secret-Pass-14", *ANA)
    conversation, _ = world.start_recovery("ana", "ana@home.example")
    conversation.answer("Recovery code: ", "ZZZZ-ZZZZ-ZZZ2")
    assert not conversation.finish().ok, "a wrong code logged in"
    assert not world.try_code("ana", "ZZZZ-ZZZZ-ZZZ3").ok, "a wrong code logged in"
    assert not world.try_code("ana", "ZZZZ-ZZZZ-ZZZ4").ok, "a wrong code logged in"
    result = world.login_refused("ana", "Ana-Secret-Pass-14")
    assert "locked" in result.output.lower(), "the right password after 3 wrong codes is refused, but not as a lock"
    shown = world.show("ana")
    assert shown.get("lockReason") == "failures" and shown["locked"] is True, shown

    world.pw_ok("unlock", "ana")
    world.login_ok("ana", "Ana-Secret-Pass-14")
    world.recovery_conf("deny = 2")
    conversation, code = world.start_recovery("ana", "ana@home.example")
    conversation.answer("Recovery code: ", "ZZZZ-ZZZZ-ZZZ5")
    assert not conversation.finish().ok, "a wrong code logged in"
    assert not world.try_code("ana", "ZZZZ-ZZZZ-ZZZ6").ok, "a wrong code logged in"
    assert world.show("ana").get("lockReason") == "failures", "2 wrong codes with deny = 2 did not lock"
    before = world.snapshot()
    assert not world.try_code("ana", code, "Locked-Right-Code-9").ok, "a locked account accepted the right code"
    world.assert_unchanged(before, "the right code on a locked account")
    time.sleep(2)
    assert mailbox.count("ana@home.example", "code") == 2, "a code was mailed for a locked account"


def test_help_desk_recover(recovery_world, mailbox):
    """`pwdir recover NAME|ADDRESS` mails a code that works at the prompt (typed in lower case
    with spaces too); the new password follows the policy and a refusal or a typo does not spend
    the code; the help desk is rate-limited; a no-mailbox user, a fictitious address or an
    unknown login get one line saying what to do, and no mail."""
    world = recovery_world
    world.recovery_conf("deny = 50")
    world.init()
    world.user_with_password("ana", "Ana-Secret-Pass-15", *ANA)
    world.user_with_password("bob", "Bob-Secret-Pass-15", "--email", "bob@corp.example")
    world.user_with_password("nm", "Nm-Secret-Pass-15", "--email", "nm@corp.example", "--no-mailbox")

    assert "sent" in world.pw_ok("recover", "ana").out, "pwdir recover ana does not say it sent a code"
    code = mailbox.next_code("ana@home.example", 1)
    before = world.snapshot()
    result = world.try_code("ana", code, "Short-1")
    assert not result.ok, "recovery accepted a 7-character password (minlen 12)"
    assert "Password refused" in result.output, str(result)
    result = world.pam("ana", answers=["", code, "Desk-Typo-Pass-25", "Desk-Typo-Pass-52"])
    assert not result.ok, "recovery accepted two different new passwords"
    assert "do not match" in result.output, str(result)
    world.assert_unchanged(before, "a refused recovery")
    result = world.try_code("ana", code, "Desk-Code-Pass-25")
    assert result.ok, "the code from 'pwdir recover ana' did not work at the prompt:\n%s" % result
    world.secret("Desk-Code-Pass-25")
    world.login_ok("ana", "Desk-Code-Pass-25")
    world.login_refused("ana", "Ana-Secret-Pass-15")

    world.pw_ok("recover", "ana@home.example")
    result = world.try_code("ana", mailbox.next_code("ana@home.example", 2), "Desk-Addr-Pass-35")
    assert result.ok, "the code from 'pwdir recover ana@home.example' did not work:\n%s" % result
    world.secret("Desk-Addr-Pass-35")
    world.login_ok("ana", "Desk-Addr-Pass-35")

    world.pw_ok("recover", "bob@corp.example")  # by the login email, a real mailbox
    typed = mailbox.next_code("bob@corp.example", 1).lower().replace("-", " ")  # as people type it
    world.secret(typed)
    result = world.try_code("bob", typed, "Desk-Bob-Pass-45")
    assert result.ok, "the code mailed to bob's email, typed as %r, did not work:\n%s" % (typed, result)
    world.secret("Desk-Bob-Pass-45")
    world.login_ok("bob", "Desk-Bob-Pass-45")

    world.pw_ok("recover", "bob")
    mailbox.next_code("bob@corp.example", 2)
    world.expect_clean_error("recover", "bob")  # within recovery_interval

    result = world.expect_clean_error("recover", "nm")
    assert re.search(r"recovery-email|manager|passwd", result.err), "the refusal does not say what to do"
    world.expect_clean_error("recover", "nm@corp.example")
    world.expect_clean_error("recover", "ghost")
    time.sleep(1)
    assert not [m for m in mailbox.all() if m.to.startswith("nm@")], "mail went to the fictitious address of nm"
