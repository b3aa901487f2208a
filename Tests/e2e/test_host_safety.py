"""What loading the module does to its host (sshd, login, su, sudo): the symbols it exports, the
libraries it links, that it is never unloaded, how dlopen sees it, that many logins in one
process leave the process as found, and that it leaves no child behind."""
import re
import subprocess

from pwdir_e2e import run

ENTRY_POINTS = ["pam_sm_acct_mgmt", "pam_sm_authenticate", "pam_sm_chauthtok", "pam_sm_close_session",
                "pam_sm_open_session", "pam_sm_setcred"]


def tool(world, *argv) -> str:
    result = run(argv, env=world.env, quiet=True)
    assert result.ok, "%s failed:\n%s" % (argv[0], result)
    return result.out


def test_module_exports_only_the_pam_entry_points(world):
    """The dynamic symbol table defines, as globals, exactly the six pam_sm_* functions (version
    definitions aside)."""
    table = tool(world, "nm", "-D", "--defined-only", world.binaries.module)
    globals_ = sorted({fields[2].split("@")[0] for fields in (line.split() for line in table.splitlines())
                       if len(fields) >= 3 and re.fullmatch(r"[A-Z]", fields[1]) and fields[1] != "A"})
    assert globals_ == ENTRY_POINTS, "exported globals are %s, not the six pam_sm_*" % globals_


def test_module_links_no_swift_runtime(world):
    """The module carries its own Swift runtime: ldd shows no libswift*, Foundation, libdispatch,
    BlocksRuntime or ICU, and nothing unresolved."""
    libraries = tool(world, "ldd", world.binaries.module)
    print(libraries)
    swift = [line for line in libraries.splitlines() if re.search(r"libswift|Foundation|libdispatch|BlocksRuntime|libicu", line, re.I)]
    assert not swift, "the module links Swift runtime libraries: %s" % swift
    assert "not found" not in libraries, "the module has unresolved libraries"


def test_module_links_liboath_and_not_the_qr_library(world):
    """The second factor's codes come from liboath, linked into the module; the QR code library
    (libqrencode) is the command's alone and never loaded into sshd or login."""
    module = tool(world, "ldd", world.binaries.module)
    assert re.search(r"liboath\.so", module), "the module does not link liboath:\n%s" % module
    assert "libqrencode" not in module, "the module links libqrencode:\n%s" % module
    assert re.search(r"libqrencode\.so", tool(world, "ldd", world.binaries.pwdir)), "pwdir does not link libqrencode"


def test_module_is_never_unloaded(world):
    """The module is marked NODELETE (-z nodelete): a host's dlclose never unloads its runtime."""
    assert re.search(r"FLAGS_1.*NODELETE", tool(world, "readelf", "-d", world.binaries.module)), \
        "the module is not marked NODELETE (-z nodelete)"


def test_dlopen_sees_only_the_entry_points(world, c_program, note):
    """Loaded as libpam loads it (RTLD_NOW|RTLD_LOCAL), dlsym finds the six entry points and none
    of the internals (Swift runtime, C shims, Swift-mangled names, up to 300 of them from the full
    symbol table); dlopen takes well under 200 ms."""
    full_table = run(["nm", "--defined-only", world.binaries.module], env=world.env, quiet=True).out
    internal = [line.split()[-1] for line in full_table.splitlines() if line.split()
                and re.match(r"(\$s|swift_|cpwdir_|_swift)", line.split()[-1])][:300]
    note("dlopen check also probes %d names from the module's symbol table" % len(internal))
    result = run([c_program("dlopen_check"), world.binaries.module, *internal], env=world.env, quiet=True)
    problems = [line for line in result.out.splitlines() if not line.startswith(("checked", "dlopen took"))]
    assert result.ok, "dlopen check: %s" % problems[:5]
    took = int(re.search(r"^dlopen took (\d+) us$", result.out, re.M).group(1))
    note("dlopen took %.1f ms" % (took / 1000))
    assert took <= 200000, "dlopen of the module took %d us" % took


def host_state(world, program, *args, timeout=120):
    """The hoststate program (real libpam, no pam_wrapper) on the world's service."""
    result = run([program, world.svc, world.service, *args], env=world.env, cwd=world.folder, timeout=timeout)
    summary = [line for line in result.output.splitlines() if not re.match(r"^ *[-+] |^conversation", line)][:6]
    return result, summary


def test_many_logins_leave_the_host_as_found(world, c_program):
    """20 logins in one process (real libpam) leave signal dispositions and mask, umask, working
    directory, descriptors, threads, environment and locale as found; so do 10 rounds of a
    counted failure, a login and a password change; and the checker does see a failed login."""
    world.init()
    world.user_with_password("ana", "Host-State-Pass-1")
    program = c_program("hoststate")
    self_test = run([program, "--self-test"], env=world.env)
    assert self_test.ok, "hoststate self-test: %s" % self_test.output.splitlines()[-1:]
    result, summary = host_state(world, program, "ana", "Host-State-Pass-1", "20")
    assert result.ok, "host state: %s" % summary
    world.write_conf("remember = 0", "deny = 1000")  # the write paths: failure, login, change, per round
    result, summary = host_state(world, program, "ana", "Host-State-Pass-1", "10", "Wrong-Password-1", "Other-State-Pass-2")
    assert result.ok, "host state (with failures and password changes): %s" % summary
    world.login_ok("ana", "Host-State-Pass-1")  # 10 changes: back to the first password
    result, _ = host_state(world, program, "ana", "Wrong-Password-1", "1", timeout=60)
    assert not result.ok, "hoststate reported success with a wrong password"
    assert "pam_authenticate" in result.output, "hoststate did not report the failed pam_authenticate"


def test_recovery_leaves_no_child_behind(recovery_world, mailbox, c_program):
    """The module reaps the `pwdir recovery-request` it starts before returning (no zombie, no
    running child in a long-lived host on the real libpam, for failed and successful
    recoveries), and the detached helpers finish their work within 5 s."""
    world = recovery_world
    world.recovery_conf("deny = 50", "recovery_interval = 0")
    world.init()
    world.user_with_password("ana", "Ana-Secret-Pass-18", "--email", "ana@corp.example", "--recovery-email", "ana@home.example")
    world.recover_at_prompt("ana", "ana@home.example", "Stray-Check-Pass-28")
    assert mailbox.wait("ana@home.example", "changed", 1), "no notice mail"
    left = world.wait_for_helpers(5)
    assert not left, "helpers still running 5 s after the recovery: %s" % left

    host = c_program("recovery_host")
    result = run([host, world.svc, world.service, "ana", "4"], env=world.env, timeout=60)
    assert "round 4: pam_authenticate -> 7 " in result.out, "the host's wrong-code rounds did not fail with PAM_AUTH_ERR"
    assert result.ok, "the module left children behind in the host: %s" % [l for l in result.out.splitlines() if "child" in l][:3]

    # a successful recovery in that host (the notice helper too), by a user with no earlier
    # request (ana's codes from the rounds above may still be on their way)
    world.user_with_password("cy", "Cy-Secret-Pass-18", "--email", "cy@corp.example", "--recovery-email", "cy@home.example")
    code_file = world.path("code")
    running = subprocess.Popen([str(host), str(world.svc), world.service, "cy", "1", str(code_file), "Host-Recovered-Pass-38"],
                               env=world.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        code_file.write_text(mailbox.next_code("cy@home.example", 1) + "\n")
        said, _ = running.communicate(timeout=60)
    finally:
        if running.poll() is None:
            running.kill()
            running.wait()
    print(said)
    world.secret("Host-Recovered-Pass-38")
    assert "round 1: pam_authenticate -> 0 " in said, "the recovery in the host failed: %s" % said.splitlines()[-3:]
    assert running.returncode == 0, "the module left children behind after a successful recovery: %s" % [
        l for l in said.splitlines() if "child" in l][:3]
    assert mailbox.wait("cy@home.example", "changed", 1), "no notice mail after the host's recovery"
    world.login_ok("cy", "Host-Recovered-Pass-38")
    left = world.wait_for_helpers(5)
    assert not left, "helpers still running 5 s after the host's recovery: %s" % left
