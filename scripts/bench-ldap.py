#!/usr/bin/python3
"""make bench: a login through pwdird and slapd, next to one on the flat file and one raw hash.

Starts a slapd of its own (Debian's, from the e2e tests' config: back_mdb, ppolicy, pwdir's schema
and ACLs, on a loopback port), makes the accounts with `pwdir init` and `pwdir user add` on the
LDAP store, starts pwdird, and runs `pwdir-bench --ldap`, which logs in through pam_pwdir.so in
process (pam_start_confdir) ROUNDS times, interleaved with the other two.

Usage: bench-ldap.py BINDIR   (BINDIR holds pwdir, pwdird, pwdir-bench and libpam_pwdir.so)
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
from pwdir_e2e import base_environment, lines_of  # noqa: E402

BIN = Path(sys.argv[1]).resolve()
ROUNDS = os.environ.get("BENCH_LDAP_ROUNDS", "31")
PASSWORD = "Correct-Horse-42-LDAP"


def main():
    with tempfile.TemporaryDirectory(prefix="pwdir-bench-ldap-") as scratch:
        folder = Path(scratch)
        env = base_environment()
        with contextlib.redirect_stdout(open(os.devnull, "w")):  # the e2e helpers echo every command
            slapd = Slapd(folder / "slapd", env, acl=True)
        pwdird = None
        try:
            with contextlib.redirect_stdout(open(os.devnull, "w")):
                slapd.add(lines_of("dn: " + BASE, "objectClass: dcObject", "objectClass: organization", "o: example", "dc: example")
                          + "\n" + SERVICE_ENTRY)
            secret = folder / "secret"
            secret.write_text(SERVICE_PASSWORD + "\n")
            secret.chmod(0o600)
            (folder / "run").mkdir(mode=0o755)
            conf = folder / "pwdir.conf"
            conf.write_text(lines_of("store = ldap", "ldap_uri = " + slapd.uri, "ldap_base = " + BASE, "ldap_bind_dn = " + SERVICE,
                                     "ldap_secret_file = %s" % secret, "pwdird_socket = %s/run/socket" % folder,
                                     "deny = 0", "userdb_dir = off"))
            pw = dict(env, PWDIR_CONFIG=str(conf), PWDIR_DB=str(folder / "users"))
            for argv in (["init"], ["user", "add", "ana"]):
                subprocess.run([BIN / "pwdir", *argv], env=pw, check=True, stdout=subprocess.DEVNULL)
            subprocess.run([BIN / "pwdir", "passwd", "ana", "--stdin", "--no-force-change"], env=pw, check=True,
                           input=PASSWORD + "\n", text=True, stdout=subprocess.DEVNULL)
            pwdird = subprocess.Popen([BIN / "pwdird", "--config", str(conf)], env=env)
            deadline = time.monotonic() + 10
            while not (folder / "run" / "socket").exists():
                if time.monotonic() > deadline or pwdird.poll() is not None:
                    sys.exit("bench-ldap: pwdird did not start")
                time.sleep(0.05)
            print()
            subprocess.run([BIN / "pwdir-bench", "--ldap", str(conf), "ana", PASSWORD, ROUNDS], env=env, check=True)
        finally:
            if pwdird:
                pwdird.terminate()
                pwdird.wait(10)
            with contextlib.redirect_stdout(open(os.devnull, "w")):
                slapd.stop()


if __name__ == "__main__":
    main()
