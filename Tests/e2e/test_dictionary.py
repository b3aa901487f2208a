"""libcrack's dictionary missing (a host without cracklib-runtime) with dictcheck on: the command and
the module refuse every new password with one clear line naming the fix (install cracklib-runtime,
or dictcheck = 0), a syslog line from the module, and nothing of libcrack's on stdout or stderr.
With dictcheck = 0 the same host changes passwords."""
from pwdir_e2e import Namespace, lines_of, syslog_lines

FIX = "install cracklib-runtime (which builds it) or set dictcheck = 0 in pwdir.conf"
LIBCRACK_NOISE = ("cracklib_dict", "No such file", "error loading dictionary")


def assert_refused_cleanly(result, dictionary):
    assert result.rc == 5, "a missing dictionary gave exit %d, not 5: %s" % (result.rc, result)
    assert result.out == "", "stdout is not empty: %s" % result
    assert result.err.splitlines() == ["pwdir: the password dictionary %s is missing, so no new password can be "
                                       "checked; %s" % (dictionary, FIX)], str(result)


def test_dictpath_missing(world):
    """dictpath pointing at nothing: `pwdir passwd --stdin` and `--generate` refuse in one line
    (exit 5) and change nothing; the module's chauthtok refuses, tells the user the checks cannot
    run, logs the fix, and libcrack prints nothing; dictcheck = 0 lets the change through."""
    world.init()
    world.user_with_password("ana", "Quiet-Harbor-Lamp-73")
    missing = world.path("nodict") / "words"
    world.write_conf("dictpath = %s" % missing)
    before = world.snapshot()
    assert_refused_cleanly(world.pw("passwd", "ana", "--stdin", stdin=lines_of("Amber-Falcon-Rope-58")), str(missing) + ".pwd")
    assert_refused_cleanly(world.pw("passwd", "ana", "--generate"), str(missing) + ".pwd")
    world.assert_unchanged(before, "a refused passwd")
    result = world.pam("ana", "chauthtok", answers=["Amber-Falcon-Rope-58"] * 2, debug=True)
    assert not result.ok, "chauthtok succeeded without a dictionary: %s" % result
    assert "the password checks cannot run on this host" in result.output, str(result)
    assert any(FIX in line for line in syslog_lines(result)), "no syslog line names the fix: %s" % result
    assert not any(noise in line for line in result.output.splitlines() if "SYSLOG(" not in line
                   for noise in LIBCRACK_NOISE), "libcrack wrote to the host's output: %s" % result
    world.login_ok("ana", "Quiet-Harbor-Lamp-73")
    world.write_conf("dictpath = %s" % missing, "dictcheck = 0")
    world.pw_ok("passwd", "ana", "--stdin", "--no-force-change", stdin=lines_of("Amber-Falcon-Rope-58"))
    world.login_ok("ana", "Amber-Falcon-Rope-58")


def test_installed_dictionary_missing(world, binaries):
    """The fresh-machine case: libcrack's own dictionary (/var/cache/cracklib, hidden by an empty
    tmpfs in a private mount namespace) is missing and no dictpath is set."""
    world.init()
    world.user_with_password("ana", "Quiet-Harbor-Lamp-73")
    ns = Namespace()
    try:
        ns.sh("mkdir -p /var/cache/cracklib && mount -t tmpfs tmpfs /var/cache/cracklib")
        result = ns.run([binaries.pwdir, "passwd", "ana", "--stdin"], env=world.env, stdin=lines_of("Amber-Falcon-Rope-58"))
        assert_refused_cleanly(result, "/var/cache/cracklib/cracklib_dict.pwd")
        pam = ns.run(["pamtester", world.service, "ana", "chauthtok"], env=world.pam_env(),
                     stdin=lines_of("Amber-Falcon-Rope-58", "Amber-Falcon-Rope-58"))
        assert not pam.ok and "the password checks cannot run on this host" in pam.output, str(pam)
        assert not any(noise in line for line in pam.output.splitlines() if "SYSLOG(" not in line
                       for noise in LIBCRACK_NOISE), "libcrack wrote to the host's output: %s" % pam
    finally:
        ns.close()
    world.login_ok("ana", "Quiet-Harbor-Lamp-73")
