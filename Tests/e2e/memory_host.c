/* memory_host CONFDIR SERVICE USER [DICTPATH]      (stdin: the OLD and the NEW password, a line each)
 * memory_host --self-test                           (stdin: the same)
 *
 * "After pam_end, where in the host's memory are the passwords?" A host on the real libpam
 * (pam_start_confdir, no pam_wrapper), run as passwd runs (a setuid-root program started by a
 * user: real uid 65534, effective uid 0, so the module asks the current password): pam_authenticate
 * with OLD, pam_acct_mgmt, pam_chauthtok from OLD to NEW, pam_end. Then it reads its whole memory
 * (every readable mapping of /proc/self/maps, through /proc/self/mem: heap, stacks, every
 * library's data and bss) and prints one line per copy of either password found, as typed, in
 * lower case, reversed, and reversed in lower case (libcrack's FascistCheck works on such
 * copies in static buffers):
 *
 *   copy after pam_end: new reversed-lower at 0x7f.. in /usr/lib/x86_64-linux-gnu/libcrack.so.2 (bss)
 *
 * With DICTPATH, it then calls libcrack's FascistCheck once more (the library the module
 * loaded, found with RTLD_NOLOAD) on a dummy password longer than both, and scans again
 * ("copy after a dummy FascistCheck: ..."): whether one harmless call overwrites what the
 * real one left.
 *
 * --self-test leaves two copies of its own (OLD as typed on the heap, NEW reversed in lower case
 * in its bss), scans, and exits 0 only if the scan reports exactly those two, in those places.
 *
 * The host keeps the passwords only XOR-masked: its own memory holds no plain copy but the
 * answers it hands the conversation (which libpam and the module free). The scan's buffer is
 * a mapping of its own, skipped and wiped. Exit status: 0 when every PAM call succeeded (copies
 * or not: the caller judges them), 1 otherwise, 2 on usage or setup errors. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <security/pam_appl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MASK 0xA5
#define MAXPW 128
#define CHUNK (1 << 20)
/* The dummy for the extra FascistCheck: longer than any password tested, and one libcrack
 * accepts (a rejected one stops before the steps that leave copies, and overwrites nothing). */
#define DUMMY "Qv8#Tm2!Rx7%Lp4*Wz9@Hk3=Nb6^Jd5+Fs1=Gc8~Yt2?Ue7;Ma4:Ko9]Pi3[Sl6{Dh1}Bn5<Cw8>Xr2|Ez7,Vq4.Oj9_"

static unsigned char masked[2][MAXPW]; /* 0: old, 1: new; XOR MASK */
static size_t masked_len[2];
static const char *const which_name[2] = {"old", "new"};

/* Reads the two lines of stdin straight into a private mapping (no stdio buffer), masks them,
 * wipes the mapping. */
static int read_passwords(void) {
    unsigned char *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) return -1;
    size_t used = 0;
    while (used < 4095) {
        ssize_t n = read(0, buf + used, 4095 - used);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        used += (size_t)n;
    }
    size_t line = 0, at = 0;
    for (size_t i = 0; i < used && line < 2; i++) {
        if (buf[i] == '\n') { masked_len[line++] = at; at = 0; continue; }
        if (at < MAXPW) masked[line][at++] = buf[i] ^ MASK;
    }
    explicit_bzero(buf, 4096);
    munmap(buf, 4096);
    return line == 2 && masked_len[0] > 0 && masked_len[1] > 0 ? 0 : -1;
}

/* A plain copy for the conversation, malloc'd: libpam (or the module) frees it. */
static char *reveal(int which) {
    char *s = malloc(masked_len[which] + 1);
    if (s == NULL) return NULL;
    for (size_t i = 0; i < masked_len[which]; i++) s[i] = (char)(masked[which][i] ^ MASK);
    s[masked_len[which]] = 0;
    return s;
}

static int converse(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
    (void)data;
    struct pam_response *r = calloc((size_t)n, sizeof *r);
    if (r == NULL) return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
            r[i].resp = reveal(strstr(msg[i]->msg, "ew password") != NULL ? 1 : 0);
            if (r[i].resp == NULL) return PAM_BUF_ERR;
        } else {
            fprintf(stderr, "conversation: %s\n", msg[i]->msg);
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

/* --- the scan */

enum { PLAIN, LOWER, REVERSED, REVERSED_LOWER, FORMS };
static const char *const form_name[FORMS] = {"as typed", "lower", "reversed", "reversed-lower"};
static unsigned char needle[2][FORMS][MAXPW]; /* masked too */

static void make_needles(void) {
    for (int w = 0; w < 2; w++) {
        size_t len = masked_len[w];
        for (size_t i = 0; i < len; i++) {
            unsigned char m = masked[w][i], r = masked[w][len - 1 - i];
            needle[w][PLAIN][i] = m;
            needle[w][LOWER][i] = (unsigned char)tolower(m ^ MASK) ^ MASK;
            needle[w][REVERSED][i] = r;
            needle[w][REVERSED_LOWER][i] = (unsigned char)tolower(r ^ MASK) ^ MASK;
        }
    }
}

struct place {
    uintptr_t address;
    char where[800];
};

static int find_object(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct place *p = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (p->address >= start && p->address < start + ph->p_memsz) {
            const char *name = info->dlpi_name[0] ? info->dlpi_name : "the host program";
            const char *part = p->address >= start + ph->p_filesz ? "bss" : (ph->p_flags & PF_W) ? "data" : "read-only data";
            snprintf(p->where, sizeof p->where, "%s (%s)", name, part);
            return 1;
        }
    }
    return 0;
}

static int copies;

static void report(const char *phase, int w, int form, uintptr_t address, const char *mapping) {
    struct place p = {address, ""};
    if (!dl_iterate_phdr(find_object, &p)) snprintf(p.where, sizeof p.where, "%s", mapping[0] ? mapping : "an anonymous mapping");
    printf("copy %s: %s %s at %#lx in %s\n", phase, which_name[w], form_name[form], (unsigned long)address, p.where);
    copies++;
}

static void search(const char *phase, const unsigned char *buf, size_t n, size_t limit, uintptr_t base, const char *mapping) {
    for (size_t i = 0; i < limit; i++) {
        for (int w = 0; w < 2; w++) {
            size_t len = masked_len[w];
            if (i + len > n) continue;
            for (int f = 0; f < FORMS; f++) {
                if ((buf[i] ^ MASK) != needle[w][f][0]) continue;
                size_t j = 1;
                while (j < len && (buf[i + j] ^ MASK) == needle[w][f][j]) j++;
                if (j == len) report(phase, w, f, base + i, mapping);
            }
        }
    }
}

static int scan(const char *phase) {
    unsigned char *buf = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) { perror("mmap"); return -1; }
    int mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
    FILE *maps = fopen("/proc/self/maps", "re");
    if (mem < 0 || maps == NULL) { perror("/proc/self/mem or maps"); return -1; }
    char line[1024];
    size_t bytes = 0, mappings = 0;
    copies = 0;
    while (fgets(line, sizeof line, maps)) {
        unsigned long start, end;
        char perms[8] = "", path[700] = "";
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %699[^\n]", &start, &end, perms, path) < 3) continue;
        if (perms[0] != 'r' || strcmp(path, "[vvar]") == 0 || strcmp(path, "[vsyscall]") == 0) continue;
        if (start == (uintptr_t)buf) continue; /* the scan's own buffer */
        mappings++;
        for (unsigned long at = start; at < end;) {
            size_t want = end - at < CHUNK ? end - at : CHUNK;
            ssize_t got = pread(mem, buf, want, (off_t)at);
            if (got <= 0) { at += 4096; continue; } /* a page that cannot be read */
            bytes += (size_t)got;
            int last = at + (size_t)got >= end;
            /* matches starting in the last MAXPW bytes are found by the next, overlapping read */
            size_t limit = last || (size_t)got <= MAXPW ? (size_t)got : (size_t)got - MAXPW;
            search(phase, buf, (size_t)got, limit, at, path);
            at += limit;
        }
    }
    fclose(maps);
    close(mem);
    explicit_bzero(buf, CHUNK);
    munmap(buf, CHUNK);
    printf("scan %s: %d copies in %zu bytes of %zu mappings\n", phase, copies, bytes, mappings);
    return copies;
}

static char self_test_bss[MAXPW + 1];

static int self_test(void) {
    char *heap = reveal(0);
    size_t len = masked_len[1];
    for (size_t i = 0; i < len; i++) self_test_bss[i] = (char)tolower(masked[1][len - 1 - i] ^ MASK);
    fflush(stdout);
    /* the report goes to a pipe read back here, so that the lines can be checked */
    int pipefd[2];
    if (heap == NULL || pipe(pipefd) != 0) return 2;
    int saved = dup(1);
    dup2(pipefd[1], 1);
    int found = scan("in the self-test");
    fflush(stdout);
    dup2(saved, 1);
    close(pipefd[1]);
    char text[4096] = "";
    ssize_t n = read(pipefd[0], text, sizeof text - 1);
    text[n > 0 ? n : 0] = 0;
    fputs(text, stdout);
    int heap_seen = strstr(text, "old as typed at") && strstr(text, "[heap]");
    int bss_seen = strstr(text, "new reversed-lower at") && strstr(text, "the host program (bss)");
    explicit_bzero(heap, masked_len[0]);
    free(heap);
    explicit_bzero(self_test_bss, sizeof self_test_bss);
    printf("self-test: %s\n", found == 2 && heap_seen && bss_seen ? "the scan found both planted copies where they are" : "the scan missed a planted copy");
    return found == 2 && heap_seen && bss_seen ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--self-test") == 0) {
        if (read_passwords() != 0) return 2;
        make_needles();
        return self_test();
    }
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s CONFDIR SERVICE USER [DICTPATH]  (stdin: OLD and NEW, a line each)\n", argv[0]);
        return 2;
    }
    if (read_passwords() != 0) {
        fprintf(stderr, "memory_host: stdin must hold two non-empty lines\n");
        return 2;
    }
    make_needles();
    if (setresuid(65534, 0, 0) != 0) { perror("setresuid"); return 2; } /* as passwd: a user's setuid-root program */

    int failures = 0;
    struct pam_conv conv = {converse, NULL};
    pam_handle_t *h = NULL;
    int rc = pam_start_confdir(argv[2], argv[3], &conv, argv[1], &h);
    if (rc != PAM_SUCCESS) { printf("pam_start_confdir: %s\n", pam_strerror(h, rc)); return 1; }
    const char *calls[] = {"pam_authenticate", "pam_acct_mgmt", "pam_chauthtok"};
    for (int i = 0; i < 3; i++) {
        rc = i == 0 ? pam_authenticate(h, 0) : i == 1 ? pam_acct_mgmt(h, 0) : pam_chauthtok(h, 0);
        printf("%s -> %d (%s)\n", calls[i], rc, pam_strerror(h, rc));
        if (rc != PAM_SUCCESS) failures++;
    }
    rc = pam_end(h, rc);
    if (rc != PAM_SUCCESS) { printf("pam_end -> %d\n", rc); failures++; }
    if (setresuid(0, 0, 0) != 0) { perror("setresuid back"); return 2; }
    fflush(stdout);

    if (scan("after pam_end") < 0) return 2;
    if (argc == 5) {
        void *crack = dlopen("libcrack.so.2", RTLD_NOW | RTLD_NOLOAD);
        const char *(*fascist)(const char *, const char *) = crack ? (const char *(*)(const char *, const char *))dlsym(crack, "FascistCheck") : NULL;
        if (fascist == NULL) {
            printf("libcrack is not loaded: no dummy FascistCheck\n");
        } else {
            const char *said = fascist(DUMMY, argv[4]);
            printf("dummy FascistCheck: %s\n", said ? said : "accepted");
            if (scan("after a dummy FascistCheck") < 0) return 2;
        }
    }
    explicit_bzero(masked, sizeof masked);
    explicit_bzero(needle, sizeof needle);
    return failures == 0 ? 0 : 1;
}
