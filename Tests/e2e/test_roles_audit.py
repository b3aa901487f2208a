"""Roles under sudo (SUDO_USER stands for it): a manager acts on their own team only, a role user
on nothing, someone not in the directory on nothing, an admin on everything; under sudo --db and
--config are refused. Then the audit trail: `pwdir log` reads it back, and no audit trail of the
whole run holds a password, a hash or a code."""
import json
import re
import stat
import time

import pytest

from pwdir_e2e import assert_one_error_line, lines_of

TYPED_BY_MANAGER = "Typed-Cobalt-River-71"
TYPED_BY_ADMIN = "Typed-Amber-Canyon-72"
MANAGER_LIMIT = "a manager may only"


@pytest.fixture
def team(recovery_world):
    """boss manages ana and adm (an admin); zed has no manager; usr is a plain user; root2 an
    admin. Everyone has a password and a mailbox; new.csv would import imp1 into boss's team."""
    world = recovery_world
    world.recovery_conf("deny = 50", "recovery_interval = 0")
    world.init()
    for login, password, *options in [
            ("boss", "Qv8-Lantern-Orbit-61", "--role", "manager"), ("ana", "Kp3-Meadow-Falcon-62", "--manager", "boss"),
            ("zed", "Wt5-Copper-Violet-63"), ("adm", "Hj2-Silent-Harbor-64", "--role", "admin", "--manager", "boss"),
            ("usr", "Rm9-Pebble-Tundra-65", "--role", "user"), ("root2", "Xc4-Marble-Willow-66", "--role", "admin")]:
        world.user_with_password(login, password, *options, "--email", login + "@corp.example")
    world.path("new.csv").write_text(lines_of("login,email,manager", "imp1,imp1@corp.example,boss"))
    world.secret(TYPED_BY_MANAGER, TYPED_BY_ADMIN)
    return world


def as_actor(world, who, *args, stdin=None):
    """`pwdir ARGS` run by WHO through sudo, which must succeed."""
    return world.pw_ok(*args, sudo_user=who, stdin=stdin)


def refused_to(world, who, pattern, *args, stdin=None):
    """`pwdir ARGS` run by WHO through sudo is refused: one "pwdir: " line matching PATTERN (what
    the actor may do), the directory untouched, no password printed."""
    before = world.snapshot()
    result = world.pw(*args, sudo_user=who, stdin=stdin)
    assert not result.ok, "SUDO_USER=%s pwdir %s was allowed" % (who, " ".join(args))
    assert_one_error_line(result)
    assert re.search(pattern, result.err), "SUDO_USER=%s pwdir %s: the refusal does not say /%s/" % (who, " ".join(args), pattern)
    world.assert_unchanged(before, "the refused SUDO_USER=%s pwdir %s" % (who, " ".join(args)))
    assert not re.search(r"password of .* set|shown once", result.out), "the refused command printed a password"
    return result


def logins(out: str) -> list:
    """The logins of a `{"users": [...]}` document, sorted."""
    return sorted(u["login"] for u in json.loads(out)["users"])


def test_manager_acts_on_own_team(team, mailbox):
    """A manager sees only their team (show, list, find) and may set, send and generate passwords,
    lock, unlock and start a recovery for a member; their --all is their team."""
    world = team
    assert "ana" in as_actor(world, "boss", "user", "show", "ana").out
    as_actor(world, "boss", "user", "show", "ana", "--json")
    assert logins(as_actor(world, "boss", "user", "list", "--json").out) == ["ana"], "boss's user list is not only his team"
    listed = as_actor(world, "boss", "user", "list").out
    assert not re.search(r"^(zed|adm|root2|boss|usr) ", listed, re.M), "boss's user list (text) shows others:\n%s" % listed
    assert logins(as_actor(world, "boss", "user", "find", "corp.example", "--json").out) == ["ana"]
    assert logins(as_actor(world, "boss", "user", "find", "ana", "--json").out) == ["ana"]
    generated = as_actor(world, "boss", "passwd", "ana", "--generate").out.splitlines()[-1]
    world.secret(generated)
    assert len(generated) >= 12, "boss's passwd ana --generate printed no password"
    world.login_ok("ana", generated)
    as_actor(world, "boss", "passwd", "ana", "--stdin", "--no-force-change", stdin=lines_of(TYPED_BY_MANAGER))
    world.login_ok("ana", TYPED_BY_MANAGER)
    sent = mailbox.count("ana@corp.example", "password")
    as_actor(world, "boss", "send-credentials", "ana")
    assert mailbox.wait("ana@corp.example", "password", sent + 1), "boss's send-credentials ana mailed nothing"
    as_actor(world, "boss", "lock", "ana")
    assert world.show("ana").get("lockReason") == "administrator", "boss's lock ana did not lock"
    as_actor(world, "boss", "unlock", "ana")
    assert world.show("ana")["locked"] is False, "boss's unlock ana did not unlock"
    codes = mailbox.count("ana@corp.example", "code")
    as_actor(world, "boss", "recover", "ana")
    mailbox.next_code("ana@corp.example", codes + 1)
    sent = mailbox.count(kind="password")
    as_actor(world, "boss", "send-credentials", "--all")
    time.sleep(1)
    assert mailbox.count(kind="password") == sent + 1 and mailbox.last_value("ana@corp.example", "password"), \
        "boss's send-credentials --all did not mail exactly his team (ana): %s" % mailbox.all()


def test_manager_refused_outside_team(team, mailbox):
    """Outside their team — a user without manager, an admin they manage, themselves — a manager
    may not show, set, send, lock, unlock or recover (by login or address), nor find them; nothing
    is mailed to them."""
    world = team
    for target in ("zed", "adm", "boss"):
        refused_to(world, "boss", MANAGER_LIMIT, "user", "show", target)
        refused_to(world, "boss", MANAGER_LIMIT, "passwd", target, "--generate")
        refused_to(world, "boss", MANAGER_LIMIT, "passwd", target, "--stdin", stdin=lines_of(TYPED_BY_MANAGER))
        for action in ("send-credentials", "lock", "unlock", "recover"):
            refused_to(world, "boss", MANAGER_LIMIT, action, target)
        found = world.pw("user", "find", target, "--json", sudo_user="boss")  # listed without them, or refused
        if found.ok:
            assert target not in logins(found.out), "boss's user find %s shows %s" % (target, target)
        else:
            assert_one_error_line(found)
    refused_to(world, "boss", MANAGER_LIMIT, "recover", "zed@corp.example")
    refused_to(world, "boss", MANAGER_LIMIT, "recover", "adm@corp.example")
    time.sleep(1)
    mailed = [m for m in mailbox.all() if re.match(r"(zed|adm|boss)@", m.to)]
    assert not mailed, "a refused command mailed zed, adm or boss: %s" % mailed


def test_manager_may_not_administer(team):
    """A manager may not add, rename, re-role, re-manage or remove users, import, read the log, or
    create a directory (neither elsewhere with --db nor the installed one)."""
    world = team
    for args in (["user", "add", "newguy"], ["user", "modify", "ana", "--full-name", "Ana Renamed"],
                 ["user", "modify", "ana", "--role", "admin"], ["user", "modify", "ana", "--manager", ""],
                 ["user", "modify", "zed", "--manager", "boss"], ["user", "modify", "boss", "--role", "admin"],
                 ["user", "remove", "ana"], ["import", str(world.path("new.csv"))], ["log"]):
        refused_to(world, "boss", MANAGER_LIMIT, *args)
    fresh = world.path("fresh")
    fresh.mkdir()
    refused_to(world, "boss", "through sudo", "init", "--db", str(fresh / "users"))
    assert not (fresh / "users").exists(), "boss's refused init created a directory"
    refused_to(world, "boss", "only root creates the directory", "init")


@pytest.mark.parametrize("who, why", [("usr", "may change nothing"), ("stranger", "not in the directory")],
                         ids=["role_user", "stranger"])
def test_user_and_stranger_may_do_nothing(team, who, why):
    """A role user, and someone sudo lets in who is not in the directory, may change and see
    nothing (not even themselves), each refusal saying why."""
    world = team
    attempts = [["user", "show", "ana"], ["user", "list"], ["passwd", "ana", "--generate"], ["lock", "ana"],
                ["user", "add", "newguy"], ["log"]]
    if who == "usr":
        attempts += [["user", "show", "usr"], ["user", "find", "ana"], ["send-credentials", "ana"], ["unlock", "ana"],
                     ["recover", "ana"], ["user", "modify", "usr", "--role", "admin"], ["user", "remove", "ana"],
                     ["import", str(world.path("new.csv"))]]
        refused_to(world, who, why, "passwd", "usr", "--stdin", stdin=lines_of(TYPED_BY_MANAGER))
    for args in attempts:
        refused_to(world, who, why, *args)


def test_admin_may_do_everything(team, mailbox):
    """An admin acting through sudo may do everything, to anyone."""
    world = team
    as_actor(world, "root2", "user", "show", "zed")
    as_actor(world, "root2", "user", "show", "boss")
    assert logins(as_actor(world, "root2", "user", "list", "--json").out) == ["adm", "ana", "boss", "root2", "usr", "zed"]
    assert logins(as_actor(world, "root2", "user", "find", "zed", "--json").out) == ["zed"]
    generated = as_actor(world, "root2", "passwd", "zed", "--generate").out.splitlines()[-1]
    world.secret(generated)
    world.login_ok("zed", generated)
    as_actor(world, "root2", "passwd", "adm", "--stdin", "--no-force-change", stdin=lines_of(TYPED_BY_ADMIN))
    world.login_ok("adm", TYPED_BY_ADMIN)
    as_actor(world, "root2", "send-credentials", "zed")
    assert mailbox.wait("zed@corp.example", "password", 1), "the admin's send-credentials zed mailed nothing"
    as_actor(world, "root2", "lock", "boss")
    as_actor(world, "root2", "unlock", "boss")
    as_actor(world, "root2", "recover", "zed")
    mailbox.next_code("zed@corp.example", 1)
    as_actor(world, "root2", "user", "add", "newguy", "--email", "newguy@corp.example")
    as_actor(world, "root2", "user", "modify", "newguy", "--role", "manager", "--manager", "root2")
    as_actor(world, "root2", "user", "modify", "ana", "--full-name", "Ana Lima")
    as_actor(world, "root2", "user", "remove", "newguy")
    as_actor(world, "root2", "import", str(world.path("new.csv")))
    as_actor(world, "root2", "user", "show", "imp1")
    as_actor(world, "root2", "log")


def log_lines(out: str) -> list:
    """`pwdir log` text lines as [time, actor, action, target, result, detail] (two-space separated)."""
    return [line.split("  ") for line in out.splitlines()]


def test_log_reads_back_who_did_what(team):
    """`pwdir log` shows each actor's successes and refusals (who, what, to whom, result);
    --user keeps the events by or about that user; --since takes an age or a date and leaves
    older events out; an unreadable --since is one error line."""
    world = team
    as_actor(world, "boss", "passwd", "ana", "--generate")
    refused_to(world, "boss", MANAGER_LIMIT, "passwd", "zed", "--generate")
    refused_to(world, "usr", "may change nothing", "user", "show", "ana")
    refused_to(world, "stranger", "not in the directory", "user", "list")
    events = log_lines(world.pw_ok("log").out)

    def logged(actor, action=None, target=None, result=None):
        return any(len(e) >= 5 and e[1] == actor and action in (None, e[2]) and target in (None, e[3]) and result in (None, e[4])
                   for e in events)
    assert logged("boss", result="refused"), "pwdir log shows no refusal by boss"
    assert logged("boss", result="ok"), "pwdir log shows no success by boss"
    assert logged("boss", "passwd", "ana", "ok"), "pwdir log does not show boss setting ana's password"
    assert logged("boss", "passwd", "zed", "refused"), "pwdir log does not show boss refused zed's password"
    assert logged("usr", result="refused"), "pwdir log does not show the role user's refusals"
    assert logged("stranger", result="refused"), "pwdir log does not show the stranger's refusals"

    about_ana = json.loads(world.pw_ok("log", "--user", "ana", "--json").out)["events"]
    assert about_ana, "no events"
    others = [e for e in about_ana if e.get("actor") != "ana" and e.get("target") != "ana"]
    assert not others, "events not about or by ana: %r" % others[:3]
    assert any(e.get("actor") == "boss" and e.get("result") == "ok" for e in about_ana), "no success by boss about ana"
    everything = json.loads(world.pw_ok("log", "--json").out)["events"]
    assert any(e.get("target") not in ("ana", None) for e in everything), "the whole log is only about ana (--user proves nothing)"

    audit = world.path("audit.log")
    assert audit.is_file(), "no audit.log beside the directory"
    with open(audit, "a") as f:
        f.write('{"time":"2020-01-02T03:04:05Z","actor":"root","action":"user add","target":"ana","result":"ok","detail":"old event"}\n')
    recent = world.pw_ok("log", "--since", "1h", "--json").out
    assert "old event" not in recent, "pwdir log --since 1h shows an event from 2020"
    assert len(json.loads(recent)["events"]) > 10, "pwdir log --since 1h shows (almost) nothing"
    assert "old event" in world.pw_ok("log", "--user", "ana").out, "pwdir log without --since does not show the 2020 event"
    assert "old event" not in world.pw_ok("log", "--since", "2020-06-01", "--user", "ana", "--json").out, \
        "pwdir log --since 2020-06-01 shows an event from 2020-01-02"
    world.expect_clean_error("log", "--since", "yesterday")


def test_sudo_may_not_choose_directory_or_settings(world):
    """Under sudo --db and --config are refused, before or after the subcommand (an old backup
    where the manager was admin, settings naming a sendmail of their own), with one line saying
    so; without them the manager's command works."""
    world.init()
    world.pw_ok("user", "add", "boss", "--role", "manager")
    world.pw_ok("user", "add", "ana", "--manager", "boss")
    evil = world.path("evil.conf")
    evil.write_text("sendmail = /bin/true\n")
    backup = str(world.db) + "-"
    for args in (["--config", str(evil), "user", "list"], ["user", "list", "--config", str(evil)],
                 ["--db", backup, "user", "list"], ["user", "list", "--db", str(world.db)]):
        result = world.pw(*args, sudo_user="boss")
        assert not result.ok, "'pwdir %s' through sudo was accepted" % " ".join(args)
        assert_one_error_line(result)
        assert re.match(r"pwdir: .*may not be given through sudo", result.err), str(result)
    assert re.search(r"^ana ", world.pw_ok("user", "list", sudo_user="boss").out, re.M), "the manager does not see their team"


def test_audit_trail_holds_no_secret(recovery_world, mailbox, tally, session_dir, secrets, note):
    """This test's flows (generated, mailed and typed passwords, a recovery, a reused code, the
    help desk, a typo) and every test run before it leave audit trails (mode 600, root's or their
    folder owner's) that hold no password, no code and no hash seen anywhere in the run."""
    world = recovery_world
    world.recovery_conf("deny = 50", "recovery_interval = 0")
    world.init()
    world.user_with_password("ana", "Audit-Secret-Pass-17", *("--email", "ana@corp.example", "--recovery-email", "ana@home.example"))
    world.user_with_password("bob", "Bob-Audit-Pass-17", "--email", "bob@corp.example")
    world.pw_ok("user", "add", "cy", "--email", "cy@corp.example")
    generated = world.pw_ok("passwd", "cy", "--generate").out.splitlines()[-1]
    world.secret(generated)
    world.pw_ok("passwd", "bob", "--generate", "--send")
    world.pw_ok("send-credentials", "cy")
    assert mailbox.wait("bob@corp.example", "password", 1) and mailbox.wait("cy@corp.example", "password", 1), "credentials mails missing"
    code, _ = world.recover_at_prompt("ana", "ana@home.example", "Audit-Recovered-Pass-27")
    assert not world.try_code("ana", code, "Audit-Reused-Pass-37").ok, "a used code worked"
    world.secret("Audit-Reused-Pass-37")
    world.pw_ok("recover", "ana")
    time.sleep(1)  # mailed codes and passwords became secrets as they arrived
    world.login_refused("ana", "Audit-Typo-Pass-47")
    world.secret("Audit-Typo-Pass-47")

    own = world.path("audit.log").read_text()
    assert '"actor":"pam:pwtest","action":"recovery code","target":"ana","result":"ok"' in own, \
        "the module's recovery is not in the audit trail (so its absence of secrets proves little)"
    assert '"actor":"pam","action":"recovery code","target":"ana","result":"ok"' in own, "the helper's mailed code is not in the audit trail"
    # Regular files only: other tests plant FIFOs and symlinks at audit.log (opening a FIFO waits).
    trails = sorted(t for t in session_dir.rglob("audit.log") if stat.S_ISREG(t.lstat().st_mode))
    for trail in trails:
        info = trail.stat()
        assert info.st_mode & 0o7777 == 0o600, "%s is mode %o, not 600" % (trail, info.st_mode & 0o7777)
        # root's, or (a directory run by another uid) that of the folder it is in
        assert info.st_uid in (0, trail.parent.stat().st_uid), "%s is owned by uid %d" % (trail, info.st_uid)
        assert "$y$" not in trail.read_text(errors="replace"), "%s holds a yescrypt hash" % trail
    hashes = tally.hashes_under(session_dir)
    everything = secrets | hashes
    events = sum(len(t.read_text(errors="replace").splitlines()) for t in trails)
    note("checked %d audit files (%d events) against %d secrets (%d hashes)" % (len(trails), events, len(everything), len(hashes)))
    assert len(hashes) >= 3, "found only %d hashes to look for" % len(hashes)
    assert len(everything) >= 10, "only %d secrets to look for" % len(everything)

    def secrets_in(text):
        return sorted(s for s in everything if s in text)
    hits = {str(t): secrets_in(t.read_text(errors="replace")) for t in trails}
    assert not any(hits.values()), "the audit trail holds secrets: %s" % {t: h[:5] for t, h in hits.items() if h}
    assert secrets_in("x %s x" % generated), "the secret search itself finds nothing"
