/* recovery_host CONFDIR SERVICE USER ROUNDS [CODEFILE NEWPASS]
 *
 * A long-lived PAM host (like sshd) for the recovery flow, through the real libpam
 * (pam_start_confdir, no pam_wrapper). Each round: pam_start_confdir + pam_authenticate +
 * pam_end, answering "Password: " with an empty line (which starts recovery).
 *
 *   without CODEFILE: "Recovery code: " is answered with a wrong code;
 *   with CODEFILE:    the answer is read from CODEFILE, waited for up to 20 s (the caller
 *                     writes it after reading the mail), then NEWPASS twice.
 *
 * After every pam_authenticate the host looks at its own children (the module runs
 * `pwdir recovery-request --background`, which must have been waited for): a child still
 * there, running or zombie, is reported. At the end no child may be left (waitpid ECHILD).
 * Prints "round N: pam_authenticate -> CODE (text)" per round; exit status 0 only when no
 * child was ever left behind; 1 otherwise; 2 on usage or setup errors. The pam return codes
 * are printed, not judged: the caller judges them. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *codefile;
static const char *newpass;

static char *read_code(void) {
    static char buf[256];
    for (int i = 0; i < 200; i++) {
        FILE *f = fopen(codefile, "re");
        if (f) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[n] = 0;
            buf[strcspn(buf, "\r\n")] = 0;
            if (n > 0) return strdup(buf);
        }
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "recovery_host: no code in %s after 20 s\n", codefile);
    return strdup("");
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
    (void)data;
    struct pam_response *r = calloc((size_t)n, sizeof *r);
    if (r == NULL) return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        const char *text = msg[i]->msg ? msg[i]->msg : "";
        switch (msg[i]->msg_style) {
        case PAM_PROMPT_ECHO_OFF:
        case PAM_PROMPT_ECHO_ON:
            printf("prompt: %s\n", text);
            if (strncmp(text, "Password", 8) == 0) r[i].resp = strdup("");
            else if (strncmp(text, "Recovery code", 13) == 0)
                r[i].resp = codefile ? read_code() : strdup("2222-3333-4444");
            else r[i].resp = strdup(newpass ? newpass : "");
            break;
        default:
            printf("message: %s\n", text);
            break;
        }
    }
    fflush(stdout);
    *resp = r;
    return PAM_SUCCESS;
}

/* Children of this process, as "pid state cmdline" lines; returns how many. */
static int children(void) {
    DIR *d = opendir("/proc");
    if (d == NULL) { perror("opendir /proc"); exit(2); }
    int count = 0;
    pid_t me = getpid();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[64], line[1024];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "re");
        if (f == NULL) continue;
        size_t n = fread(line, 1, sizeof line - 1, f);
        fclose(f);
        line[n] = 0;
        char *close_paren = strrchr(line, ')');
        if (close_paren == NULL) continue;
        char state = 0;
        int ppid = 0;
        if (sscanf(close_paren + 1, " %c %d", &state, &ppid) != 2 || ppid != me) continue;
        char cmd[512] = "";
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        f = fopen(path, "re");
        if (f) {
            size_t m = fread(cmd, 1, sizeof cmd - 1, f);
            fclose(f);
            for (size_t k = 0; k < m; k++) if (cmd[k] == 0) cmd[k] = ' ';
            cmd[m] = 0;
        }
        printf("child left: pid %s state %c: %s\n", e->d_name, state, cmd[0] ? cmd : "(zombie, no command line)");
        count++;
    }
    closedir(d);
    return count;
}

int main(int argc, char **argv) {
    if (argc != 5 && argc != 7) {
        fprintf(stderr, "usage: recovery_host CONFDIR SERVICE USER ROUNDS [CODEFILE NEWPASS]\n");
        return 2;
    }
    const char *confdir = argv[1], *service = argv[2], *user = argv[3];
    int rounds = atoi(argv[4]);
    if (argc == 7) { codefile = argv[5]; newpass = argv[6]; }
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct pam_conv c = { conv, NULL };
    int left = 0;
    for (int round = 1; round <= rounds; round++) {
        pam_handle_t *h = NULL;
        int rc = pam_start_confdir(service, user, &c, confdir, &h);
        if (rc != PAM_SUCCESS) { fprintf(stderr, "pam_start_confdir: %d\n", rc); return 2; }
        rc = pam_authenticate(h, 0);
        printf("round %d: pam_authenticate -> %d (%s)\n", round, rc, pam_strerror(h, rc));
        /* the module returned: the child it started must already be reaped */
        left += children();
        pam_end(h, rc);
    }
    /* the detached helper is not ours (its parent exited, it went to init); nothing else may be */
    int status;
    pid_t w = waitpid(-1, &status, WNOHANG);
    if (w > 0 || (w == 0)) {
        printf("a child of the host was still there at the end (waitpid -> %d)\n", (int)w);
        left++;
    } else if (errno != ECHILD) {
        perror("waitpid");
        return 2;
    }
    printf("children left behind: %d\n", left);
    return left ? 1 : 0;
}
