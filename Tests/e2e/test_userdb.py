"""pwdir's accounts visible to the system with no useradd: each change publishes the account as a
systemd userdb record (`NAME.user`, `UID.user`, a private group `NAME.group`, `GID.group`) and
nss-systemd (in Debian's nsswitch.conf) resolves it with `getent`, no daemon, no module.

Everything runs in a private mount namespace (pwdir_e2e.Namespace) where /run is a scratch folder
(so /run/userdb, the default userdb_dir, is the test's) and /etc/passwd and /etc/group are
scratch copies holding one more account, `taken` (uid 20000, the first of uid_min's range), and
a group `busy` (gid 20001): numbers the allocation must skip.
"""
import json
import os
from pathlib import Path

import pytest

from pwdir_e2e import Namespace, base_environment

FIRST = 20000  # uid_min's default


@pytest.fixture
def host(world):
    """The namespace, with the world's settings publishing in /run/userdb (the default)."""
    if os.geteuid() != 0:
        pytest.skip("unshare needs root")
    run = world.path("run")
    run.mkdir(mode=0o755)
    etc = world.path("etc")
    etc.mkdir()
    (etc / "passwd").write_text(Path("/etc/passwd").read_text() + "taken:x:%d:%d::/nonexistent:/usr/sbin/nologin\n" % (FIRST, FIRST))
    (etc / "group").write_text(Path("/etc/group").read_text() + "taken:x:%d:\nbusy:x:%d:\n" % (FIRST, FIRST + 1))
    world.write_conf("userdb_dir = /run/userdb")
    ns = Namespace()
    try:
        ns.sh("mount --bind {run} /run && mount --bind {etc}/passwd /etc/passwd && mount --bind {etc}/group /etc/group"
              .format(run=run, etc=etc))
        ns.userdb = run / "userdb"
        yield ns
    finally:
        ns.close()


def pw(world, ns, *args, stdin=None):
    """`pwdir ARGS` inside the namespace (its NSS sees the scratch /etc and /run)."""
    return ns.run([world.binaries.pwdir, *args], env=world.env, stdin=stdin)


def pw_ok(world, ns, *args, stdin=None):
    result = pw(world, ns, *args, stdin=stdin)
    assert result.ok, str(result)
    return result


def getent(ns, database, key):
    """The line `getent DATABASE KEY` prints in the namespace, or None."""
    result = ns.run(["getent", database, str(key)], env=base_environment())
    return result.out.strip() if result.ok else None


def record(ns, name):
    return json.loads((ns.userdb / name).read_text())


def test_an_account_added_by_pwdir_resolves_for_the_system(world, host):
    """`user add ana --uid 61000`: getent finds ana by name and number, with her private group;
    the record carries no hash, even once she has a password; the files are 0644, root's."""
    pw_ok(world, host, "init")
    pw_ok(world, host, "user", "add", "ana", "--uid", "61000", "--full-name", "Ana Lopez")
    assert getent(host, "passwd", "ana") == "ana:x:61000:61000:Ana Lopez:/home/ana:/bin/bash"
    assert getent(host, "passwd", 61000) == "ana:x:61000:61000:Ana Lopez:/home/ana:/bin/bash"
    assert getent(host, "group", "ana") == "ana:x:61000:"
    assert getent(host, "group", 61000) == "ana:x:61000:"
    pw_ok(world, host, "passwd", "ana", "--stdin", stdin="Harbor-Violet-6284\n")
    world.secret("Harbor-Violet-6284")
    names = sorted(os.listdir(host.userdb))
    assert names == ["61000.group", "61000.user", "ana.group", "ana.user"], names
    text = (host.userdb / "ana.user").read_text()
    assert "$y$" not in text and "assword" not in text, "the record publishes the hash: %s" % text
    assert record(host, "ana.user")["locked"] is False
    for name in names:
        st = (host.userdb / name).lstat()
        assert (st.st_uid, st.st_gid) == (0, 0)
    assert (host.userdb / "ana.user").stat().st_mode & 0o777 == 0o644
    shown = world.show("ana")
    assert (shown["uidNumber"], shown["gidNumber"], shown["homeDirectory"], shown["loginShell"]) == (61000, 61000, "/home/ana", "/bin/bash")


def test_lock_unlock_and_remove_follow_the_directory(world, host):
    """A locked account is locked for the system too (nss-systemd gives it an expired shadow
    entry); unlock lifts that; `user remove` withdraws every file; modify moves the numbers."""
    pw_ok(world, host, "init")
    pw_ok(world, host, "user", "add", "ana", "--uid", "61000")
    pw_ok(world, host, "lock", "ana")
    assert record(host, "ana.user")["locked"] is True
    assert getent(host, "shadow", "ana").split(":")[7] == "1", "a locked account is not expired for the system"
    pw_ok(world, host, "unlock", "ana")
    assert record(host, "ana.user")["locked"] is False
    assert getent(host, "shadow", "ana").split(":")[7] == ""
    pw_ok(world, host, "user", "modify", "ana", "--uid", "61001", "--shell", "/bin/sh", "--home", "/srv/ana")
    assert getent(host, "passwd", "ana") == "ana:x:61001:61001:ana:/srv/ana:/bin/sh"  # no full name: nss-systemd shows the login
    assert getent(host, "passwd", 61000) is None, "the old number still resolves"
    assert sorted(os.listdir(host.userdb)) == ["61001.group", "61001.user", "ana.group", "ana.user"]
    pw_ok(world, host, "user", "remove", "ana")
    assert getent(host, "passwd", "ana") is None and getent(host, "passwd", 61001) is None
    assert getent(host, "group", "ana") is None
    assert os.listdir(host.userdb) == []


def test_numbers_are_allocated_around_the_system_and_never_shared(world, host):
    """Without --uid: the first number of the range that no account and no group of the system
    uses (20000 is `taken`, 20001 the group `busy`), then the next; a number the system or
    another user holds is refused and nothing changes; a login the system already has gets no
    second account."""
    pw_ok(world, host, "init")
    pw_ok(world, host, "user", "add", "bo")
    assert getent(host, "passwd", "bo") == "bo:x:%d:%d:bo:/home/bo:/bin/bash" % (FIRST + 2, FIRST + 2)
    pw_ok(world, host, "user", "add", "cy")
    assert world.show("cy")["uidNumber"] == FIRST + 3
    before = world.snapshot()
    for uid, why in ((FIRST, "the system account 'taken'"), (FIRST + 2, "belongs to 'bo' in the directory")):
        refused = pw(world, host, "user", "add", "dee", "--uid", str(uid))
        assert refused.rc == 2 and why in refused.err, str(refused)
        assert world.snapshot() == before, "a refused add changed the directory"
    assert getent(host, "passwd", "dee") is None
    note = pw_ok(world, host, "user", "add", "taken")
    assert "already an account of the system" in note.err, str(note)
    assert "uidNumber" not in world.show("taken")
    assert getent(host, "passwd", "taken").startswith("taken:x:%d:" % FIRST), "the system's account was replaced"
    assert not (host.userdb / "taken.user").exists()
    digits = pw_ok(world, host, "user", "add", "12345")  # a valid login, but not publishable
    assert "digits only" in digits.err and "uidNumber" not in world.show("12345"), str(digits)
    assert not (host.userdb / "12345.user").exists()
    clash = pw(world, host, "user", "modify", "bo", "--gid", "")  # the private group follows: still free
    assert clash.ok, str(clash)
    moved = pw(world, host, "user", "modify", "bo", "--uid", str(FIRST + 1))  # its private group would be `busy`'s gid
    assert moved.rc == 2 and "busy" in moved.err, str(moved)
    # a login named like a group of the system: never that group, the group users instead
    said = pw_ok(world, host, "user", "add", "busy")
    assert "group users" in said.err, str(said)
    assert getent(host, "passwd", "busy").split(":")[3] == "100"
    assert getent(host, "group", "busy") == "busy:x:%d:" % (FIRST + 1), "the system's group was replaced"


def test_adds_at_the_same_time_get_different_numbers(world, host):
    """Numbers are chosen under the writers' lock: four adds started together get four numbers."""
    pw_ok(world, host, "init")
    host.sh(" & ".join("%s user add p%d >/dev/null" % (world.binaries.pwdir, i) for i in range(4)) + " & wait", env=world.env)
    uids = [world.show("p%d" % i)["uidNumber"] for i in range(4)]
    assert len(set(uids)) == 4, "two accounts share a number: %s" % uids
    assert sorted(uids) == [FIRST + 2, FIRST + 3, FIRST + 4, FIRST + 5], uids


def test_userdb_sync_restores_the_folder_and_leaves_others_files(world, host):
    """The folder deleted (as /run is at boot): `pwdir userdb sync` writes every account again;
    a record of pwdir's whose user is gone is removed; a record another service wrote is left."""
    pw_ok(world, host, "init")
    pw_ok(world, host, "user", "add", "ana", "--uid", "61000")
    pw_ok(world, host, "user", "add", "bo")
    host.sh("rm -rf /run/userdb")
    assert getent(host, "passwd", "ana") is None
    said = pw_ok(world, host, "userdb", "sync")
    assert "published 2 accounts" in said.out, str(said)
    assert getent(host, "passwd", "ana").startswith("ana:x:61000:") and getent(host, "passwd", "bo") is not None
    foreign = {"userName": "eve", "uid": 61500, "gid": 61500, "service": "io.example"}
    (host.userdb / "eve.user").write_text(json.dumps(foreign))
    (host.userdb / "ghost.user").write_text(json.dumps({"userName": "ghost", "uid": 61600, "service": "io.pwdir"}))
    pw_ok(world, host, "userdb", "sync")
    assert (host.userdb / "eve.user").exists(), "another service's record was removed"
    assert not (host.userdb / "ghost.user").exists(), "a stale record of pwdir's stayed"
    last = json.loads(world.path("audit.log").read_text().splitlines()[-1])
    assert (last["action"], last["result"]) == ("userdb sync", "ok"), last


def test_import_publishes_and_checks_the_numbers(world, host):
    """CSV columns uid_number, gid_number, home_directory, login_shell: a bad or taken number is a
    bad row (nothing imported); otherwise every new account is published, numbered or allocated."""
    pw_ok(world, host, "init")
    bad = world.path("bad.csv")
    bad.write_text("login,uid_number\nana,%d\nbo,abc\n" % FIRST)
    refused = pw(world, host, "import", str(bad))
    assert refused.rc == 2 and "line 2" in refused.err and "line 3" in refused.err, str(refused)
    assert not host.userdb.exists() or os.listdir(host.userdb) == [], "a refused import published accounts"
    good = world.path("good.csv")
    good.write_text("login,full_name,uid_number,home_directory,login_shell\nana,Ana Lopez,61000,/srv/ana,/bin/sh\nbo,Bo,,,\n")
    pw_ok(world, host, "import", str(good))
    assert getent(host, "passwd", "ana") == "ana:x:61000:61000:Ana Lopez:/srv/ana:/bin/sh"
    assert getent(host, "passwd", "bo") == "bo:x:%d:%d:Bo:/home/bo:/bin/bash" % (FIRST + 2, FIRST + 2)


def test_publishing_that_fails_after_the_change_says_so(world, host):
    """The folder cannot be written (a file where it should be): the change is saved (the
    directory is the truth), the command says what to run and exits 1."""
    pw_ok(world, host, "init")
    host.sh("touch /run/userdb")
    result = pw(world, host, "user", "add", "ana", "--uid", "61000")
    assert result.rc == 1 and "pwdir userdb sync" in result.err and "added ana" in result.out, str(result)
    assert world.show("ana")["uidNumber"] == 61000


def test_a_folder_others_may_write_on_the_way_is_refused(world, host):
    """userdb_dir under a folder anyone may write (not sticky): root would write by a name someone
    else can swap; nothing is published, the change is saved and the command says why."""
    pw_ok(world, host, "init")
    shared = world.path("shared")
    shared.mkdir()
    shared.chmod(0o777)
    world.write_conf("userdb_dir = %s" % (shared / "userdb"))
    result = pw(world, host, "user", "add", "ana", "--uid", "61000")
    assert result.rc == 1 and "others may write the folder %s" % shared in result.err, str(result)
    assert not (shared / "userdb" / "ana.user").exists()
    assert world.show("ana")["uidNumber"] == 61000
