#!/usr/bin/python3
"""make bench: what the directory's operations cost as it grows, in both formats.

For each N (default 1,000, 100,000 and 1,000,000; BENCH_SCALE_N="1000 100000" to choose), a
scratch directory of N users (about 170 bytes a line, one shared yescrypt hash) is written in
format 1 (one file, the design of pwdir 0.9: every change rewrites it whole), each operation
below is run BENCH_ROUNDS times (default 3), then it is migrated to format 2 (256 shards) and
every operation runs again (BENCH_FORMAT1=0 skips format 1). The tables show the median wall
time and the largest peak RSS (the process's own, from wait4). The user's own change runs in a
C host (scripts/bench_chauthtok.c, as passwd or sshd's child would): its "extra" memory is the
host's peak RSS with the change minus without it. "single-file floor" is what any design that
keeps one file must at least do per change: copy the file and fsync the copy.

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
FORMAT1 = os.environ.get("BENCH_FORMAT1", "1") != "0"
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
            f.write("remember = 0\nuserdb_dir = off\n")  # the directory's work is measured, not publishing
        write_directory(db, n)
        common = ["--db", db, "--config", conf]
        os.mkdir(d + "/pam.d")
        with open(d + "/pam.d/bench", "w") as f:
            f.write("password required %s/libpam_pwdir.so db=%s config=%s\n" % (BIN, db, conf))
        csv = d + "/people.csv"
        write_csv(csv, n)
        results[n] = {}
        if FORMAT1:
            results[n][1] = operations(pwdir, scratch, d, db, conf, common, csv, n, 1)
            results[n]["floor"] = single_file_floor(db)
        migrated, _ = run([pwdir, "migrate", *common])
        results[n]["migrate"] = migrated
        results[n][2] = operations(pwdir, scratch, d, db, conf, common, csv, n, 2)
        subprocess.run(["rm", "-rf", d])
    subprocess.run(["rm", "-rf", scratch])
    report(results)


def operations(pwdir, scratch, d, db, conf, common, csv, n, fmt):
    """Every operation of the table on the directory DB (of format FMT)."""
    run([pwdir, "user", "show", "user0000001", *common])  # the first reader checks the file whole and seals it
    who = "user%07d" % (n // 3)
    row = {}
    host = [scratch + "/bench_chauthtok", who, None, d + "/pam.d"]
    base_t, base_rss = measure(lambda r: host[:2] + ["Host-Idle-Pass-1"] + host[3:] + ["none"])
    t, rss = measure(lambda r: host[:2] + ["Own-Change-%d-%d-Xq!z" % (fmt, r)] + host[3:] + ["change"])
    row["user's own change (chauthtok, in the host)"] = (t, rss, "extra %.0f MB in the host" % (rss - base_rss), rss - base_rss)
    row["pwdir passwd NAME --stdin"] = measure(lambda r: [pwdir, "passwd", who, "--stdin", "--no-force-change", *common],
                                               stdin=lambda r: b"Admin-Set-%d-%d-Kw!p\n" % (fmt, r))
    row["pwdir lock NAME"] = measure(lambda r: [pwdir, "lock", who, *common])
    row["pwdir unlock NAME"] = measure(lambda r: [pwdir, "unlock", who, *common])
    row["pwdir user modify NAME --full-name"] = measure(lambda r: [pwdir, "user", "modify", who, "--full-name", "Renamed %d" % r, *common])
    row["pwdir user show NAME"] = measure(lambda r: [pwdir, "user", "show", who, *common])
    row["pwdir user find QUERY"] = measure(lambda r: [pwdir, "user", "find", "user000004", *common])
    row["pwdir user list --json"] = measure(lambda r: [pwdir, "user", "list", "--json", *common])

    def fresh(r):
        target = "%s/import%d-%d" % (d, fmt, r)
        os.mkdir(target)
        run([pwdir, "init", "--format", str(fmt), "--db", target + "/users", "--config", conf])
        return [pwdir, "import", csv, "--db", target + "/users", "--config", conf]
    row["pwdir import of N rows"] = measure(fresh)
    subprocess.run("rm -rf %s/import%d-*" % (d, fmt), shell=True)
    size = os.path.getsize(db) if fmt == 1 else sum(e.stat().st_size for e in os.scandir(db + ".d"))
    row["(directory size)"] = (None, size / 1e6, "MB")
    return row


def single_file_floor(db):
    """Seconds to copy DB into a new file, fsync it and rename it (median of ROUNDS)."""
    times = []
    for _ in range(ROUNDS):
        started = time.monotonic()
        with open(db, "rb") as src, open(db + "+floor", "wb") as dst:
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        os.rename(db + "+floor", db + "-floor")
        times.append(time.monotonic() - started)
    os.unlink(db + "-floor")
    return statistics.median(times)


def shown(t):
    return "%.0f ms" % (t * 1000) if t < 10 else "%.1f s" % t


# What issue 14 asks at the largest N: (label, seconds or None, extra check).
GOALS = {
    "user's own change (chauthtok, in the host)": 0.1,
    "pwdir passwd NAME --stdin": 0.1,
    "pwdir lock NAME": 0.1,
    "pwdir unlock NAME": 0.1,
    "pwdir user modify NAME --full-name": 0.1,
    "pwdir user find QUERY": 1.0,
    "pwdir import of N rows": 5.0,
}


def report(results):
    big = SIZES[-1]
    labels = list(results[big][2].keys())
    print("")
    print("directory at scale, format 2 (median of %d, wall clock; peak RSS of the process):" % ROUNDS)
    head = "| operation | " + " | ".join("%s users" % format(n, ",") for n in SIZES) + " | peak RSS at %s |" % format(big, ",")
    if FORMAT1:
        head += " %s users, format 1 |" % format(big, ",")
    print(head)
    print("|---|" + "---|" * (len(SIZES) + 1 + (1 if FORMAT1 else 0)))
    for label in labels:
        cells = []
        for n in SIZES:
            t, rss, *extra = results[n][2][label]
            cells.append("%.1f MB" % rss if t is None else shown(t))
        t, rss, *extra = results[big][2][label]
        last = "" if t is None else "%.0f MB" % rss + ("; " + extra[0] if extra else "")
        line = "| %s | %s | %s |" % (label, " | ".join(cells), last)
        if FORMAT1:
            t1, rss1, *extra1 = results[big][1][label]
            line += " %s |" % ("%.1f MB" % rss1 if t1 is None else "%s, %.0f MB" % (shown(t1), rss1))
        print(line)
    print("| pwdir migrate (format 1 to 2) | %s |  | |" % " | ".join(shown(results[n]["migrate"]) for n in SIZES) + (" |" if FORMAT1 else ""))
    if FORMAT1:
        print("| single-file floor (copy + fsync) | %s |  | |" % " | ".join(shown(results[n]["floor"]) for n in SIZES) + " |")
    print("")
    print("goals at %s users (issue 14):" % format(big, ","))
    ok = True
    for label, limit in GOALS.items():
        t = results[big][2][label][0]
        met = t < limit
        ok &= met
        print("  %-45s %8s  < %s: %s" % (label, shown(t), shown(limit), "met" if met else "NOT MET"))
    extra_mb = results[big][2]["user's own change (chauthtok, in the host)"][3]
    small_extra = results[SIZES[0]][2]["user's own change (chauthtok, in the host)"][3]
    print("  %-45s %5.0f MB  (%.0f MB at %s users): %s" % ("host's extra memory during chauthtok", extra_mb, small_extra, format(SIZES[0], ","),
                                                          "met" if extra_mb < 16 else "NOT MET"))
    list_mb = results[big][2]["pwdir user list --json"][1]
    print("  %-45s %5.0f MB  (%.0f MB at %s users): %s" % ("user list --json peak RSS", list_mb, results[SIZES[0]][2]["pwdir user list --json"][1],
                                                          format(SIZES[0], ","), "met" if list_mb < 64 else "NOT MET"))

main()
