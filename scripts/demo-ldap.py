#!/usr/bin/python3
"""make demo, last part: many hosts, one directory. Two OpenLDAP servers that replicate each
other (Debian's slapd, started here from its own config on loopback ports, with the password
policy overlay), two "hosts" A and B, each with its own pwdird and PAM service (pam_wrapper:
nothing under /etc is touched). The administrator on A sets a temporary password; Ana logs in
on B and must change it; her new password works on A. Failed logins on both hosts lock her
everywhere; an unlock on B lets her in on A.

Usage: demo-ldap.py BINDIR
"""
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "Tests" / "e2e"))
from ldap_e2e import BASE, SERVICE, SERVICE_ENTRY, SERVICE_PASSWORD, Slapd  # noqa: E402
from pwdir_e2e import base_environment, free_port, lines_of  # noqa: E402

BIN = Path(sys.argv[1]).resolve()


def step(text):
    print("\n\033[1m==> %s\033[0m" % text, flush=True)


def quietly():
    return contextlib.redirect_stdout(open(os.devnull, "w"))  # the e2e helpers echo every command


def wait_for(what, check, seconds=15):
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            sys.exit("demo: FAILED: %s" % what)
        time.sleep(0.1)


def main():
    with tempfile.TemporaryDirectory(prefix="pwdir-demo-ldap-") as scratch:
        folder = Path(scratch)
        env = base_environment()
        ports = [free_port(), free_port()]
        peers = ["ldap://127.0.0.1:%d/" % p for p in ports]
        servers, daemons = [], []
        try:
            step("Two OpenLDAP servers, A and B, replicating each other (slapd + ppolicy, pwdir's schema and ACLs)")
            with quietly():
                for n in range(2):
                    servers.append(Slapd(folder / ("slapd-%s" % "ab"[n]), env, port=ports[n], peers=peers, index=n, acl=True))
                # The base made on A, the service identity on B: both directions replicate.
                servers[0].add(lines_of("dn: " + BASE, "objectClass: dcObject", "objectClass: organization", "o: example", "dc: example"))
                wait_for("the base reached B", lambda: servers[1].ldap("ldapsearch", "-b", BASE, "-s", "base", quiet=True).ok)
                servers[1].add(SERVICE_ENTRY)
                wait_for("the service identity reached A", lambda: servers[0].ldap("ldapsearch", "-b", SERVICE, "-s", "base", quiet=True).ok)
            print("A: %s   B: %s" % tuple(peers))
            secret = folder / "secret"
            secret.write_text(SERVICE_PASSWORD + "\n")
            secret.chmod(0o600)
            hosts = {}
            for name, uris in (("a", peers), ("b", peers[::-1])):
                home = folder / ("host-" + name)
                (home / "run").mkdir(parents=True, mode=0o755)
                conf = home / "pwdir.conf"
                conf.write_text(lines_of("store = ldap", "ldap_uri = " + " ".join(uris), "ldap_base = " + BASE,
                                         "ldap_bind_dn = " + SERVICE, "ldap_secret_file = %s" % secret,
                                         "pwdird_socket = %s/run/socket" % home, "deny = 3", "unlock_time = 300",
                                         "userdb_dir = off"))
                (home / "pam.d").mkdir(mode=0o700)
                args = "db=%s/users config=%s" % (home, conf)
                (home / "pam.d" / "login-demo").write_text(lines_of(*("%s required %s/libpam_pwdir.so %s" % (stack, BIN, args)
                                                                       for stack in ("auth", "account", "password", "session"))))
                (home / "pam.d" / "other").write_text(lines_of(*("%s required pam_deny.so" % s for s in ("auth", "account", "password", "session"))))
                hosts[name] = (home, conf)
            print("host A asks A first, host B asks B first; each runs pwdird, and pam_pwdir.so asks it (no libldap in the module)")

            def pwdir(host, *argv, stdin=None):
                home, conf = hosts[host]
                e = dict(env, PWDIR_CONFIG=str(conf), PWDIR_DB=str(home / "users"))
                r = subprocess.run([BIN / "pwdir", *argv], env=e, input=stdin, text=True, capture_output=True)
                print(r.stdout + r.stderr, end="")
                if r.returncode != 0:
                    sys.exit("demo: FAILED: pwdir %s" % " ".join(argv))
                return r.stdout

            def pam(host, *ops, answers=()):
                home, _ = hosts[host]
                e = dict(env, LD_PRELOAD="libpam_wrapper.so", PAM_WRAPPER="1", PAM_WRAPPER_SERVICE_DIR=str(home / "pam.d"))
                r = subprocess.run(["pamtester", "login-demo", "ana", *ops], env=e, input="".join(a + "\n" for a in answers),
                                   text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                for line in r.stdout.replace("Password: ", "Password: \n").splitlines():
                    if line.strip() and not line.startswith("PWRAP_"):
                        print("  [host %s] %s" % (host.upper(), line.strip()))
                return r.returncode == 0

            step("On host A, the administrator creates the tree and the password policy, and adds Ana")
            pwdir("a", "init")
            pwdir("a", "user", "add", "ana", "--full-name", "Ana Lopez", "--email", "ana@example.org")
            for name, (home, conf) in hosts.items():
                daemons.append(subprocess.Popen([BIN / "pwdird", "--config", str(conf)], env=env))
                wait_for("pwdird of host %s started" % name, lambda: (home / "run" / "socket").exists())

            step("On host A, the administrator generates a temporary password")
            temporary = pwdir("a", "passwd", "ana", "--generate").strip().splitlines()[-1]

            step("Ana logs in on host B: the password works, and she must choose her own first")
            wait_for("Ana reached B", lambda: pam("b", "authenticate", answers=[temporary]))
            if pam("b", "authenticate", "acct_mgmt", answers=[temporary]):
                sys.exit("demo: FAILED: B did not ask for a new password")
            if not pam("b", "chauthtok", answers=["Ana-Own-Choice-2026", "Ana-Own-Choice-2026"]):
                sys.exit("demo: FAILED: the change on B")

            step("Her new password works on host A; the temporary one works nowhere")
            wait_for("the new password reached A", lambda: pam("a", "authenticate", "acct_mgmt", answers=["Ana-Own-Choice-2026"]))
            if pam("a", "authenticate", answers=[temporary]) or pam("b", "authenticate", answers=[temporary]):
                sys.exit("demo: FAILED: the temporary password still works")

            step("Three wrong passwords, two on A and one on B (deny = 3), lock her on both hosts")
            for host in ("a", "a", "b"):
                pam(host, "authenticate", answers=["a wrong guess"])
                time.sleep(0.5)  # replication
            wait_for("the lock reached A", lambda: not pam("a", "authenticate", answers=["Ana-Own-Choice-2026"]))
            pwdir("b", "user", "show", "ana")

            step("On host B, the administrator unlocks her; she logs in on host A")
            pwdir("b", "unlock", "ana")
            wait_for("the unlock reached A", lambda: pam("a", "authenticate", "acct_mgmt", answers=["Ana-Own-Choice-2026"]))
        finally:
            for d in daemons:
                d.terminate()
                d.wait(10)
            with quietly():
                for s in servers:
                    s.stop()


if __name__ == "__main__":
    main()
