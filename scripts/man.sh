#!/usr/bin/env bash
# Writes the three man pages into OUTDIR (never into the repository's tracked files):
#   pwdir.8       generated from the built command by swift-argument-parser's generate-manual,
#                 followed by the hand-written sections in man/pwdir.8.tail
#   pam_pwdir.8, pwdird.8, pwdir.conf.5   copied from man/ (written by hand)
#
#   scripts/man.sh OUTDIR
#
# PWDIR_BIN: the folder holding the built pwdir (default .build/release). The generator is built
# from the pinned swift-argument-parser in its own scratch folder (.build-man). It is not run
# through `swift package plugin generate-manual`, which rebuilds every product of the package
# in release (minutes) only to run this same tool on its own copy: the page must describe the
# binary that is packaged. The page's date is the last commit's (SOURCE_DATE_EPOCH wins), so
# the same sources give the same page.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 64; }
out=$1
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${PWDIR_BIN:-$repo/.build/release}
export PATH="$PATH:/opt/swift/usr/bin"
PYTHON=/usr/bin/python3  # Debian's, whatever python3 comes first on PATH

[ -x "$bin/pwdir" ] || { echo "man.sh: no pwdir in $bin; run 'make build' first" >&2; exit 1; }
mkdir -p "$out"

# The generator, built once (then only checked) from the swift-argument-parser Package.resolved pins.
scratch=$repo/.build-man
(cd "$repo" && swift build -c release --scratch-path "$scratch" --product generate-manual >/dev/null) ||
  { echo "man.sh: cannot build generate-manual (swift build --product generate-manual)" >&2; exit 1; }
generate=$scratch/release/generate-manual

if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
  date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%F)
else
  date=$(git -C "$repo" log -1 --format=%cd --date=format:%F 2>/dev/null || date -u +%F)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# generate-manual runs `TOOL --experimental-dump-help`. It lists subcommands hidden from --help
# (recovery-request and recovery-notice, which pam_pwdir runs), and every subcommand's
# --version and --help; this stand-in for the command gives it the same description without
# them.
cat >"$work/filter.py" <<'EOF'
import json, sys

def tidy(command, top):
    command["subcommands"] = [tidy(c, False) for c in command.get("subcommands", [])
                              if c.get("shouldDisplay", True)]
    if not top:
        command["arguments"] = [a for a in command.get("arguments", [])
                                if a.get("preferredName", {}).get("name") not in ("version", "help")]
    return command

dump = json.load(sys.stdin)
tidy(dump["command"], True)
json.dump(dump, sys.stdout)
EOF
cat >"$work/pwdir" <<EOF
#!/bin/sh
[ "\$1" = --experimental-dump-help ] || exit 64
"$bin/pwdir" --experimental-dump-help | $PYTHON "$work/filter.py"
EOF
chmod +x "$work/pwdir"
"$generate" "$work/pwdir" --section 8 --date "$date" --output-directory "$work" >/dev/null

# Then in the style mandoc -T lint asks for: each sentence on a line of its own, lines of at most
# 80 bytes, a lower-case one-line description without a final period; the version in the
# footer; the hand-written sections in place of generate-manual's bare EXIT STATUS.
version=$("$bin/pwdir" --version)
$PYTHON - "$work/pwdir.8" "$repo/man/pwdir.8.tail" "$out/pwdir.8" "$version" <<'EOF'
import re, sys

page, tail, target, version = sys.argv[1:]
lines = open(page, encoding="utf-8").read().split("\n")
end = lines.index('.Sh "EXIT STATUS"')
sentence_end = re.compile(r"(?<![A-Z.][.])(?<!\be\.g\.)(?<!\bi\.e\.)([.!?][)'\"]*) +(?=[A-Z(])")

def wrap(text):
    """Text, in lines of at most 80 bytes, breaking only between words (never after a period,
    which roff would take for the end of a sentence); a line starting with . or ' escaped."""
    out, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > 80 and not line.endswith("."):
            out.append(line)
            line = word
        else:
            line = word if not line else line + " " + word
    out.append(line)
    return ["\\&" + l if l[:1] in (".", "'") else l for l in out]

result = []
for line in lines[:end]:
    if line == ".Os":
        line = ".Os pwdir " + version
    if line.startswith(".Nd "):
        text = line[4:].strip('"').rstrip(".")
        line = ".Nd " + text[:1].lower() + text[1:]
    if line.startswith(".") or not line:
        result.append(line)
        continue
    for sentence in sentence_end.sub(lambda m: m.group(1) + "\n", line).split("\n"):
        result += wrap(sentence)
extra = open(tail, encoding="utf-8").read().rstrip("\n").split("\n")
while extra and extra[0].startswith('.\\"'):  # the tail's own header comment
    extra.pop(0)
result += extra
open(target, "w", encoding="utf-8").write("\n".join(result) + "\n")
EOF

install -m 0644 "$repo/man/pam_pwdir.8" "$repo/man/pwdird.8" "$repo/man/pwdir.conf.5" "$out/"
echo "man pages in $out: pwdir.8 pam_pwdir.8 pwdird.8 pwdir.conf.5"
