# pwdir — make demo (the whole story end to end), make check (every test).
# Both install what is missing first (make deps), so they work on a fresh Debian machine.

SWIFT      ?= swift
export PATH := $(PATH):/opt/swift/usr/bin
BUILD      := .build/release
PREFIX     ?= /usr/local
# The system's PAM module folder (where pam_unix.so lives), e.g. /usr/lib/x86_64-linux-gnu/security
PAMDIR     ?= $(shell dirname "$$(find /usr/lib /lib /usr/lib64 /lib64 -name pam_unix.so 2>/dev/null | head -n 1)")
CONFDIR    ?= /etc/security
STATEDIR   ?= /var/lib/pwdir
MANDIR     ?= $(PREFIX)/share/man
MANOUT     := .build/man
# Seconds each fuzz target runs: make fuzz (FUZZ_SECONDS=600), make check (a short smoke run).
FUZZ_SECONDS ?= 600
FUZZ_SMOKE   ?= 20

.PHONY: all deps build man demo check test e2e fuzz fuzz-smoke deb bench install uninstall clean

all: build man

# What building and testing need (compiler, headers, pamtester, an SMTP server, ...).
deps:
	@scripts/deps.sh test

build: deps
	$(SWIFT) build -c release

test: build
	$(SWIFT) build -c release --build-tests
	$(SWIFT) test -c release --skip-build

# The end-to-end suites (Tests/e2e, pytest with pexpect) drive the built command and module
# through pamtester, pam_wrapper and real programs; Debian's python3, not one on PATH first.
PYTEST := /usr/bin/python3 -m pytest -p no:cacheprovider

e2e: build
	PWDIR_BIN=$(CURDIR)/$(BUILD) $(PYTEST) Tests/e2e

# pwdir(8) generated from the built command; pam_pwdir(8), pwdird(8), pwdir.conf(5) from man/; all linted.
man: build
	PWDIR_BIN=$(CURDIR)/$(BUILD) scripts/man.sh $(MANOUT)
	mandoc -T lint -W warning $(MANOUT)/pwdir.8 $(MANOUT)/pam_pwdir.8 $(MANOUT)/pwdird.8 $(MANOUT)/pwdir.conf.5

# libFuzzer targets (Fuzz/) for the directory codec and manifest, the settings parser, the tally codec
# the second factor's files, LDIF and pwdird's protocol.
fuzz: deps
	scripts/fuzz.sh $(FUZZ_SECONDS)

fuzz-smoke: deps
	scripts/fuzz.sh $(FUZZ_SMOKE)

# The Debian package (module, command, helper, man pages, pam-config profile, conffile), lintian-checked.
deb: man
	rm -rf .build/deb
	deb=$$(scripts/deb.sh $(BUILD) .build/deb) && lintian --fail-on error,warning "$$deb" && echo "built $$deb"

check: test e2e fuzz-smoke deb

demo: build
	@PWDIR_BIN=$(CURDIR)/$(BUILD) bash scripts/demo.sh

bench: build
	$(BUILD)/pwdir-bench 31
	@PWDIR_BIN=$(CURDIR)/$(BUILD) bash scripts/bench-import.sh
	@PWDIR_BIN=$(CURDIR)/$(BUILD) bash scripts/bench-instructions.sh
	@/usr/bin/python3 scripts/bench-scale.py $(BUILD)
	@/usr/bin/python3 scripts/bench-ldap.py $(BUILD)

# Installs what `make build` made; it builds nothing (run `make build` first, as a normal user
# if you like) and installs only what a host needs to run pwdir (scripts/deps.sh runtime).
install:
	@for f in $(BUILD)/pwdir $(BUILD)/pwdir-chkpwd $(BUILD)/pwdird $(BUILD)/libpam_pwdir.so $(MANOUT)/pwdir.8; do \
	  [ -e $$f ] || { echo "make install: $$f is missing; run 'make build man' first" >&2; exit 1; }; \
	done
	@scripts/deps.sh runtime
	install -d -m 0755 $(DESTDIR)$(PAMDIR) $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(CONFDIR)
	install -m 0644 $(BUILD)/libpam_pwdir.so $(DESTDIR)$(PAMDIR)/pam_pwdir.so
	install -m 0755 $(BUILD)/pwdir $(DESTDIR)$(PREFIX)/sbin/pwdir
	install -o root -g root -m 4755 $(BUILD)/pwdir-chkpwd $(DESTDIR)$(PREFIX)/sbin/pwdir-chkpwd
	install -m 0755 $(BUILD)/pwdird $(DESTDIR)$(PREFIX)/sbin/pwdird
	install -d -m 0700 $(DESTDIR)$(STATEDIR)
	install -d -m 0755 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(MANOUT)/pwdir.8 $(MANOUT)/pam_pwdir.8 $(MANOUT)/pwdird.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(MANOUT)/pwdir.conf.5 $(DESTDIR)$(MANDIR)/man5/
	ln -sf pam_pwdir.8 $(DESTDIR)$(MANDIR)/man8/pwdir-chkpwd.8
	@if [ -e $(DESTDIR)$(CONFDIR)/pwdir.conf ]; then \
	  echo "keeping the existing $(CONFDIR)/pwdir.conf"; \
	else \
	  install -m 0644 pam/pwdir.conf $(DESTDIR)$(CONFDIR)/pwdir.conf; \
	fi
	@echo "installed; next: pwdir init, then add pam_pwdir.so to a PAM service (see README)"

# Leaves the directory ($(STATEDIR)) and pwdir.conf: they hold the organisation's data.
uninstall:
	rm -f $(DESTDIR)$(PAMDIR)/pam_pwdir.so $(DESTDIR)$(PREFIX)/sbin/pwdir $(DESTDIR)$(PREFIX)/sbin/pwdir-chkpwd $(DESTDIR)$(PREFIX)/sbin/pwdird
	rm -f $(DESTDIR)$(MANDIR)/man8/pwdir.8 $(DESTDIR)$(MANDIR)/man8/pam_pwdir.8 $(DESTDIR)$(MANDIR)/man8/pwdird.8 $(DESTDIR)$(MANDIR)/man8/pwdir-chkpwd.8 $(DESTDIR)$(MANDIR)/man5/pwdir.conf.5
	@echo "removed the module and the command; $(STATEDIR) and $(CONFDIR)/pwdir.conf are kept"

clean:
	rm -rf .build .build-fuzz .build-man
