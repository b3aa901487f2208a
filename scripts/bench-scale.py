#!/usr/bin/python3
"""make bench: what the directory's whole-file operations cost as it grows.

For each N (default 1,000, 100,000 and 1,000,000; BENCH_SCALE_N="1000 100000" to choose), a
scratch directory of N users (about 170 bytes a line, one shared yescrypt hash) is written, and
each operation below is run BENCH_ROUNDS times (default 3); the table shows the median wall
time and the largest peak RSS (the process's own, from wait4). The user's own change runs in a
C host (scripts/bench_chauthtok.c, as passwd or sshd's child would): its "extra" memory is the
host's peak RSS with the change minus without it.

Usage: bench-scale.py BINDIR   (BINDIR holds pwdir and libpam_pwdir.so)
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
import crypt  # noqa: E402 (after the filter: deprecated in 3.11, still Debian 12's)
BIN = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = [int(n) for n in os.environ.get("BENCH_SCALE_N", "1000 100000 1000000").split()]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
HASH = crypt.crypt("Correct-Horse-42", "$y$j9T$abcdefghijklmnopqrstu.")


def run(argv, stdin=b"", env=None):
    """Runs ARGV; returns (seconds, peak RSS in MB); fails loudly on a non-zero exit."""
    started = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    p.stdin.write(stdin)
    p.stdin.close()
    _, status, usage = os.wait4(p.pid, 0)
    seconds = time.monotonic() - started
    err = p.stderr.read().decode(errors="replace")
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit("bench-scale: %s exited %d: %s" % (" ".join(argv), p.returncode, err.strip()))
    return seconds, usage.ru_maxrss / 1024


def write_directory(path, n):
    with open(path, "w") as f:
        f.write("pwdir-directory 1\n")
        for i in range(n):
            f.write("uid=user%07d\tcn=User %d\tmail=user%07d@corp.example\tuserPassword={CRYPT}%s\tpwdChangedTime=20261121000000Z\n"
                    % (i, i, i, HASH))
        f.write("#end users=%d\n" % n)
    os.chmod(path, 0o600)


def write_csv(path, n):
    with open(path, "w", encoding="utf-8") as f:
        f.write("login,full_name,email,recovery_email,role,manager,no_mailbox,lang\r\n")
        for i in range(n):
            f.write('emp%07d,"Employé %d, équipe %d",emp%07d@corp.example,,user,,no,%s\r\n' % (i, i, i % 50, i, "fr" if i % 3 == 0 else "en"))


def measure(make_argv, stdin=lambda r: b""):
    """Median seconds and largest peak RSS (MB) of BENCH_ROUNDS runs of MAKE_ARGV(round)."""
    times, peaks = [], []
    for r in range(ROUNDS):
        seconds, peak = run(make_argv(r), stdin(r))
        times.append(seconds)
        peaks.append(peak)
    return statistics.median(times), max(peaks)


def main():
    scratch = tempfile.mkdtemp(prefix="pwdir-bench-scale.")
    subprocess.run(["cc", "-O2", os.path.join(HERE, "bench_chauthtok.c"), "-o", scratch + "/bench_chauthtok", "-lpam"], check=True)
    pwdir = BIN + "/pwdir"
    results = {}
    for n in SIZES:
        d = "%s/n%d" % (scratch, n)
        os.mkdir(d)
        db, conf = d + "/users", d + "/pwdir.conf"
        with open(conf, "w") as f:
            f.write("remember = 0\n")
        write_directory(db, n)
        common = ["--db", db, "--config", conf]
        run([pwdir, "user", "show", "user0000001", *common])  # the first reader checks the file whole and seals it
        os.mkdir(d + "/pam.d")
        with open(d + "/pam.d/bench", "w") as f:
            f.write("password required %s/libpam_pwdir.so db=%s config=%s\n" % (BIN, db, conf))
        who = "user%07d" % (n // 3)
        row = {}
        host = [scratch + "/bench_chauthtok", who, None, d + "/pam.d"]
        base_t, base_rss = measure(lambda r: host[:2] + ["Host-Idle-Pass-1"] + host[3:] + ["none"])
        t, rss = measure(lambda r: host[:2] + ["Own-Change-%d-Xq!z" % r] + host[3:] + ["change"])
        row["user's own change (chauthtok, in the host)"] = (t, rss, "extra %.0f MB in the host" % (rss - base_rss))
        row["pwdir passwd NAME --stdin"] = measure(lambda r: [pwdir, "passwd", who, "--stdin", "--no-force-change", *common],
                                                   stdin=lambda r: b"Admin-Set-%d-Kw!p\n" % r)
        row["pwdir lock NAME"] = measure(lambda r: [pwdir, "lock", who, *common])
        row["pwdir unlock NAME"] = measure(lambda r: [pwdir, "unlock", who, *common])
        row["pwdir user modify NAME --full-name"] = measure(lambda r: [pwdir, "user", "modify", who, "--full-name", "Renamed %d" % r, *common])
        row["pwdir user show NAME"] = measure(lambda r: [pwdir, "user", "show", who, *common])
        row["pwdir user find QUERY"] = measure(lambda r: [pwdir, "user", "find", "user000004", *common])
        row["pwdir user list --json"] = measure(lambda r: [pwdir, "user", "list", "--json", *common])
        csv = d + "/people.csv"
        write_csv(csv, n)

        def fresh(r):
            target = "%s/import%d" % (d, r)
            os.mkdir(target)
            run([pwdir, "init", "--db", target + "/users", "--config", conf])
            return [pwdir, "import", csv, "--db", target + "/users", "--config", conf]
        row["pwdir import of N rows"] = measure(fresh)
        row["(directory size)"] = (None, os.path.getsize(db) / 1e6, "MB")
        results[n] = row
        subprocess.run(["rm", "-rf", d])
    subprocess.run(["rm", "-rf", scratch])

    labels = list(results[SIZES[0]].keys())
    print("")
    print("directory at scale (median of %d, wall clock; peak RSS of the process):" % ROUNDS)
    print("| operation | " + " | ".join("%s users" % format(n, ",") for n in SIZES) + " | peak RSS at %s |" % format(SIZES[-1], ","))
    print("|---|" + "---|" * (len(SIZES) + 1))
    for label in labels:
        cells = []
        for n in SIZES:
            t, rss, *extra = results[n][label]
            cells.append("%.1f MB" % rss if t is None else ("%.0f ms" % (t * 1000) if t < 10 else "%.1f s" % t))
        t, rss, *extra = results[SIZES[-1]][label]
        last = "" if t is None else "%.0f MB" % rss + ("; " + extra[0] if extra else "")
        print("| %s | %s | %s |" % (label, " | ".join(cells), last))


main()
