/* hoststate CONFDIR SERVICE USER PASSWORD [LOGINS [WRONG OTHER]]
 * hoststate --self-test
 *
 * "20 logins in one process leave the host state as found." Records what a PAM module loaded
 * into sshd or sudo must not change: every signal's disposition (handler, flags, mask), the
 * signal mask, the umask, the working directory, the open descriptors, the number of threads,
 * the environment and the locale. Then runs LOGINS (default 20) times pam_start_confdir +
 * pam_authenticate + pam_acct_mgmt + pam_end through the real libpam (no pam_wrapper), with a
 * conversation that answers PASSWORD, and records the state again.
 *
 * With WRONG and OTHER, every round also exercises the module's write paths: first a login with
 * the WRONG password (must fail with PAM_AUTH_ERR: a failure is counted), then the login above,
 * then pam_chauthtok to OTHER (run as root: no current password asked); the next round logs in
 * with OTHER and changes back. (The directory's settings must allow that: remember = 0.)
 *
 * The first record is taken before the first pam_start, so loading the module counts. The state
 * after the first login and after the last are both compared with it. Every difference is
 * printed; the exit status is 0 only when there is none and every pam_authenticate and
 * pam_acct_mgmt returned PAM_SUCCESS.
 *
 * One descriptor may appear that is not a difference: glibc's syslog socket (a datagram Unix
 * socket connected to /dev/log, close-on-exec), which syslog(3) opens at the first line the
 * module logs (pam_syslog) and keeps open, as for every PAM module that logs. One such socket is
 * printed as a "syslog socket" note; a second one, or one without close-on-exec, is a difference.
 *
 * --self-test changes each recorded item between two records and exits 0 only if the
 * comparison reports all of them (so a comparison that sees nothing cannot pass unnoticed). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

extern char **environ;

#define MAXSIG 65 /* signals 1..64 on Linux */

struct disposition {
    int rc;    /* sigaction's return */
    int err;   /* its errno when rc != 0 */
    void *handler;
    int flags;
    unsigned char mask[MAXSIG];
};

struct state {
    struct disposition sig[MAXSIG];
    unsigned char blocked[MAXSIG];
    char umask[32];
    char cwd[PATH_MAX];
    char *fds;       /* "N -> target\n" for every open descriptor but syslog's */
    char *syslog;    /* the same for datagram sockets connected to /dev/log (glibc's syslog) */
    int syslog_count;
    char threads[32];
    char *env;       /* environ, one entry a line */
    char locale[512];
};

static char *append(char *buf, const char *text) {
    size_t old = buf ? strlen(buf) : 0, add = strlen(text);
    char *b = realloc(buf, old + add + 1);
    if (b == NULL) { perror("realloc"); exit(3); }
    memcpy(b + old, text, add + 1);
    return b;
}

/* The value of "Key:" in /proc/self/status, without the tabs. */
static void status_field(const char *key, char *out, size_t size) {
    snprintf(out, size, "?");
    FILE *f = fopen("/proc/self/status", "re");
    if (f == NULL) return;
    char line[256];
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            char *v = line + klen + 1;
            while (*v == ' ' || *v == '\t') v++;
            v[strcspn(v, "\n")] = 0;
            snprintf(out, size, "%s", v);
            break;
        }
    }
    fclose(f);
}

/* A datagram Unix socket connected to /dev/log (or to what /dev/log links to): syslog(3)'s. */
static int is_syslog_socket(int fd) {
    int type = 0, domain = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_DGRAM) return 0;
    len = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_UNIX) return 0;
    struct sockaddr_un peer;
    memset(&peer, 0, sizeof peer);
    len = sizeof peer;
    if (getpeername(fd, (struct sockaddr *)&peer, &len) != 0) return 0;
    peer.sun_path[sizeof peer.sun_path - 1] = 0;
    if (strcmp(peer.sun_path, _PATH_LOG) == 0) return 1;
    char real[PATH_MAX];
    return realpath(_PATH_LOG, real) != NULL && strcmp(peer.sun_path, real) == 0;
}

static void record(struct state *s) {
    memset(s, 0, sizeof *s);
    for (int n = 1; n < MAXSIG; n++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        errno = 0;
        s->sig[n].rc = sigaction(n, NULL, &sa);
        s->sig[n].err = s->sig[n].rc == 0 ? 0 : errno;
        if (s->sig[n].rc == 0) {
            s->sig[n].handler = (void *)sa.sa_handler;
            s->sig[n].flags = sa.sa_flags;
            for (int m = 1; m < MAXSIG; m++) s->sig[n].mask[m] = sigismember(&sa.sa_mask, m) == 1;
        }
    }
    sigset_t blocked;
    sigemptyset(&blocked);
    sigprocmask(SIG_BLOCK, NULL, &blocked);
    for (int m = 1; m < MAXSIG; m++) s->blocked[m] = sigismember(&blocked, m) == 1;

    status_field("Umask", s->umask, sizeof s->umask);
    if (strcmp(s->umask, "?") == 0) { /* kernels before 4.7: read it by setting it */
        mode_t u = umask(022);
        umask(u);
        snprintf(s->umask, sizeof s->umask, "%04o", (unsigned)u);
    }
    if (getcwd(s->cwd, sizeof s->cwd) == NULL) snprintf(s->cwd, sizeof s->cwd, "(getcwd: %s)", strerror(errno));

    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) { perror("/proc/self/fd"); exit(3); }
    int own = dirfd(d);
    /* readdir order is the kernel's (ascending); keep it */
    struct dirent *e;
    s->fds = append(NULL, "");
    s->syslog = append(NULL, "");
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        int fd = atoi(e->d_name);
        if (fd == own) continue;
        char link[PATH_MAX + 1], path[64], line[PATH_MAX + 128];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, link, sizeof link - 1);
        link[n < 0 ? 0 : n] = 0;
        int fl = fcntl(fd, F_GETFD);
        snprintf(line, sizeof line, "%d -> %s%s\n", fd, link, fl >= 0 && (fl & FD_CLOEXEC) ? " (cloexec)" : "");
        if (strncmp(link, "socket:", 7) == 0 && is_syslog_socket(fd)) {
            s->syslog = append(s->syslog, line);
            s->syslog_count++;
        } else {
            s->fds = append(s->fds, line);
        }
    }
    closedir(d);

    status_field("Threads", s->threads, sizeof s->threads);

    s->env = append(NULL, "");
    for (char **p = environ; p && *p; p++) {
        s->env = append(s->env, *p);
        s->env = append(s->env, "\n");
    }
    const char *loc = setlocale(LC_ALL, NULL);
    snprintf(s->locale, sizeof s->locale, "%s", loc ? loc : "(null)");
}

static void free_state(struct state *s) {
    free(s->fds);
    free(s->syslog);
    free(s->env);
}

static void mask_text(const unsigned char *mask, char *out, size_t size) {
    size_t used = 0;
    out[0] = 0;
    for (int m = 1; m < MAXSIG && used + 8 < size; m++)
        if (mask[m]) used += (size_t)snprintf(out + used, size - used, "%s%d", used ? "," : "", m);
    if (used == 0) snprintf(out, size, "(none)");
}

/* Prints the lines of `a` missing from `b` ("-") and of `b` missing from `a` ("+"). */
static void line_diff(const char *a, const char *b) {
    for (int pass = 0; pass < 2; pass++) {
        const char *from = pass == 0 ? a : b, *other = pass == 0 ? b : a;
        for (const char *p = from; *p;) {
            const char *end = strchr(p, '\n');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            int found = 0;
            for (const char *q = other; *q;) {
                const char *qe = strchr(q, '\n');
                size_t ql = qe ? (size_t)(qe - q) : strlen(q);
                if (ql == len && memcmp(p, q, len) == 0) { found = 1; break; }
                q += ql + (qe ? 1 : 0);
            }
            if (!found) printf("    %c %.*s\n", pass == 0 ? '-' : '+', (int)len, p);
            p += len + (end ? 1 : 0);
        }
    }
}

/* Prints every difference between a and b; returns how many. */
static int compare(const struct state *a, const struct state *b, const char *when) {
    int diffs = 0;
    char t1[512], t2[512];
    for (int n = 1; n < MAXSIG; n++) {
        const struct disposition *x = &a->sig[n], *y = &b->sig[n];
        if (x->rc != y->rc || x->err != y->err) {
            printf("%s: sigaction(%d) returned %d/%d, was %d/%d\n", when, n, y->rc, y->err, x->rc, x->err);
            diffs++;
            continue;
        }
        if (x->handler != y->handler) {
            printf("%s: signal %d (%s) handler %p, was %p\n", when, n, strsignal(n), y->handler, x->handler);
            diffs++;
        }
        if (x->flags != y->flags) {
            printf("%s: signal %d (%s) sa_flags 0x%x, was 0x%x\n", when, n, strsignal(n), (unsigned)y->flags, (unsigned)x->flags);
            diffs++;
        }
        if (memcmp(x->mask, y->mask, sizeof x->mask) != 0) {
            mask_text(x->mask, t1, sizeof t1);
            mask_text(y->mask, t2, sizeof t2);
            printf("%s: signal %d (%s) sa_mask {%s}, was {%s}\n", when, n, strsignal(n), t2, t1);
            diffs++;
        }
    }
    if (memcmp(a->blocked, b->blocked, sizeof a->blocked) != 0) {
        mask_text(a->blocked, t1, sizeof t1);
        mask_text(b->blocked, t2, sizeof t2);
        printf("%s: blocked signals {%s}, were {%s}\n", when, t2, t1);
        diffs++;
    }
    if (strcmp(a->umask, b->umask) != 0) {
        printf("%s: umask %s, was %s\n", when, b->umask, a->umask);
        diffs++;
    }
    if (strcmp(a->cwd, b->cwd) != 0) {
        printf("%s: cwd %s, was %s\n", when, b->cwd, a->cwd);
        diffs++;
    }
    if (strcmp(a->fds, b->fds) != 0) {
        printf("%s: open descriptors differ (- before only, + after only)\n", when);
        line_diff(a->fds, b->fds);
        diffs++;
    }
    if (strcmp(a->syslog, b->syslog) != 0) {
        /* glibc's syslog socket, opened at the first line logged and kept: allowed once, and
         * only close-on-exec (it must not leak into the host's children) */
        const char *text = b->syslog;
        if (b->syslog_count > 1 || (b->syslog_count == 1 && strstr(text, "(cloexec)") == NULL)) {
            printf("%s: syslog sockets differ (- before only, + after only)\n", when);
            line_diff(a->syslog, b->syslog);
            diffs++;
        } else if (b->syslog_count == 1) {
            printf("%s: syslog socket %.*s kept open by syslog(3): allowed\n", when, (int)strcspn(text, "\n"), text);
        }
    }
    if (strcmp(a->threads, b->threads) != 0) {
        printf("%s: %s threads, were %s\n", when, b->threads, a->threads);
        diffs++;
    }
    if (strcmp(a->env, b->env) != 0) {
        printf("%s: environment differs (- before only, + after only)\n", when);
        line_diff(a->env, b->env);
        diffs++;
    }
    if (strcmp(a->locale, b->locale) != 0) {
        printf("%s: locale %s, was %s\n", when, b->locale, a->locale);
        diffs++;
    }
    return diffs;
}

static const char *answer;     /* to "Password: " and any other prompt */
static const char *new_answer; /* to "New password: " and "Retype new password: " */

static int converse(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
    (void)data;
    struct pam_response *r = calloc((size_t)n, sizeof *r);
    if (r == NULL) return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        switch (msg[i]->msg_style) {
        case PAM_PROMPT_ECHO_OFF:
        case PAM_PROMPT_ECHO_ON:
            r[i].resp = strdup(new_answer && (strstr(msg[i]->msg, "New") || strstr(msg[i]->msg, "new")) ? new_answer : answer);
            if (r[i].resp == NULL) {
                for (int j = 0; j < i; j++) free(r[j].resp);
                free(r);
                return PAM_BUF_ERR;
            }
            break;
        case PAM_ERROR_MSG:
        case PAM_TEXT_INFO:
            fprintf(stderr, "conversation: %s\n", msg[i]->msg);
            break;
        default:
            for (int j = 0; j < i; j++) free(r[j].resp);
            free(r);
            return PAM_CONV_ERR;
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

static void self_handler(int sig) { (void)sig; }

static int self_test(void) {
    struct state before, after;
    record(&before);
    umask(077);
    signal(SIGUSR1, self_handler);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    sigprocmask(SIG_BLOCK, &s, NULL);
    int fd = open("/dev/null", O_RDONLY);
    if (chdir("/") != 0) perror("chdir");
    setenv("HOSTSTATE_SELF_TEST", "1", 1);
    record(&after);
    int diffs = compare(&before, &after, "self-test");
    (void)fd;
    free_state(&before);
    free_state(&after);
    /* umask, SIGUSR1 handler, blocked set, descriptors, cwd, environment */
    if (diffs < 6) {
        printf("self-test: the comparison found %d of 6 changes\n", diffs);
        return 1;
    }
    printf("self-test: the comparison found all %d changes\n", diffs);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--self-test") == 0) return self_test();
    if (argc != 5 && argc != 6 && argc != 8) {
        fprintf(stderr, "usage: %s CONFDIR SERVICE USER PASSWORD [LOGINS [WRONG OTHER]] | --self-test\n", argv[0]);
        return 2;
    }
    const char *confdir = argv[1], *service = argv[2], *user = argv[3];
    const char *password = argv[4];
    int logins = argc >= 6 ? atoi(argv[5]) : 20;
    if (logins < 1) logins = 1;
    const char *wrong = argc == 8 ? argv[6] : NULL, *other = argc == 8 ? argv[7] : NULL;

    struct state before, first, last;
    record(&before); /* before the first pam_start: loading the module counts */

    int failures = 0;
    for (int i = 0; i < logins; i++) {
        struct pam_conv conv = {converse, NULL};
        pam_handle_t *h = NULL;
        int rc = pam_start_confdir(service, user, &conv, confdir, &h);
        if (rc != PAM_SUCCESS) {
            printf("login %d: pam_start_confdir: %s\n", i + 1, pam_strerror(h, rc));
            failures++;
            if (i == 0) record(&first);
            continue;
        }
        new_answer = NULL;
        if (wrong != NULL) {
            answer = wrong;
            rc = pam_authenticate(h, 0);
            if (rc != PAM_AUTH_ERR) {
                printf("login %d: pam_authenticate with the wrong password: %s (%d), not PAM_AUTH_ERR\n", i + 1, pam_strerror(h, rc), rc);
                failures++;
            }
        }
        answer = password;
        rc = pam_authenticate(h, 0);
        if (rc != PAM_SUCCESS) {
            printf("login %d: pam_authenticate: %s (%d)\n", i + 1, pam_strerror(h, rc), rc);
            failures++;
        }
        int rc2 = pam_acct_mgmt(h, 0);
        if (rc2 != PAM_SUCCESS) {
            printf("login %d: pam_acct_mgmt: %s (%d)\n", i + 1, pam_strerror(h, rc2), rc2);
            failures++;
        }
        if (other != NULL) {
            new_answer = other;
            int rc4 = pam_chauthtok(h, 0);
            if (rc4 != PAM_SUCCESS) {
                printf("login %d: pam_chauthtok: %s (%d)\n", i + 1, pam_strerror(h, rc4), rc4);
                failures++;
            } else {
                const char *t = password; /* the next round logs in with the new one */
                password = other;
                other = t;
            }
        }
        int rc3 = pam_end(h, rc != PAM_SUCCESS ? rc : rc2);
        if (rc3 != PAM_SUCCESS) {
            printf("login %d: pam_end: %d\n", i + 1, rc3);
            failures++;
        }
        if (i == 0) record(&first);
    }
    record(&last);

    int diffs = compare(&before, &first, "after 1 login");
    diffs += compare(&before, &last, logins == 1 ? "after the login" : "after all logins");
    printf("%d login(s), %d PAM failure(s), %d difference(s) in the host state\n", logins, failures, diffs);
    free_state(&before);
    free_state(&first);
    free_state(&last);
    return failures == 0 && diffs == 0 ? 0 : 1;
}
