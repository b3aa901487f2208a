"""recovery_mail.py MAILDIR: one tab-separated line per message in MAILDIR/new, oldest first:

    FILE  TO  KIND  VALUE  SUBJECT

KIND is "code" (VALUE: the recovery code, as in the mail), "password" (VALUE: the temporary
password of a credentials mail), "changed" (the password-changed notice) or "other" (VALUE -).
Used by recovery.sh; run with Debian's /usr/bin/python3 (standard library only)."""

import email
import os
import re
import sys
from email import policy

CODE = re.compile(r"\b[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}\b")
PASSWORD = re.compile(r"^\s*(?:Temporary password|Mot de passe temporaire)\s*:\s*(\S+)\s*$", re.M)


def main():
    folder = os.path.join(sys.argv[1], "new")
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return
    entries = []
    for name in names:
        path = os.path.join(folder, name)
        try:
            entries.append((os.stat(path).st_mtime_ns, name, path))
        except FileNotFoundError:
            continue
    for _, name, path in sorted(entries):
        with open(path, "rb") as f:
            m = email.message_from_binary_file(f, policy=policy.default)
        to = ",".join(a.addr_spec for h in m.get_all("To", []) for a in h.addresses)
        subject = str(m.get("Subject", "")).replace("\t", " ")
        part = m.get_body(preferencelist=("plain",)) if m.is_multipart() else m
        body = part.get_content() if part is not None else ""
        kind, value = "other", "-"
        low = subject.lower()
        code = CODE.search(body)
        password = PASSWORD.search(body)
        if code and ("recovery" in low or "récupération" in low):
            kind, value = "code", code.group(0)
        elif password:
            kind, value = "password", password.group(1)
        elif "changed" in low or "changé" in low:
            kind = "changed"
        print("\t".join([name, to, kind, value, subject]))


if __name__ == "__main__":
    main()
