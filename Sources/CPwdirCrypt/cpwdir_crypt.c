#define _GNU_SOURCE
#include "cpwdir_crypt.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

size_t cpwdir_crypt_output_size(void) { return CRYPT_OUTPUT_SIZE; }

int cpwdir_crypt_gensalt(const char *prefix, unsigned long count, char *out, int outsize) {
    if (crypt_gensalt_rn(prefix, count, NULL, 0, out, outsize) == NULL) return -1;
    // libxcrypt may return a failure token starting with '*' instead of NULL.
    if (out[0] == '*') { errno = EINVAL; return -1; }
    return 0;
}

int cpwdir_crypt(const char *phrase, const char *setting, char *out, size_t outsize) {
    struct crypt_data *data = calloc(1, sizeof *data);
    if (data == NULL) return -1;
    int rc = -1;
    const char *h = crypt_rn(phrase, setting, data, (int)sizeof *data);
    // A failure is a failure, never a match: crypt_rn returns NULL (or, in some builds,
    // a string starting with '*').
    if (h != NULL && h[0] != '*' && strlen(h) < outsize) {
        memcpy(out, h, strlen(h) + 1);
        rc = 0;
    }
    explicit_bzero(data, sizeof *data);
    free(data);
    return rc;
}

void cpwdir_wipe(void *p, size_t n) { if (p != NULL && n > 0) explicit_bzero(p, n); }

int cpwdir_random(void *p, size_t n) {
    unsigned char *b = p;
    while (n > 0) {
        ssize_t got = getrandom(b, n, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        b += got;
        n -= (size_t)got;
    }
    return 0;
}

int cpwdir_ofd_lock(int fd, int exclusive, int wait) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = exclusive ? F_WRLCK : F_RDLCK;
    fl.l_whence = SEEK_SET;
    return fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
}

int cpwdir_ofd_unlock(int fd) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    return fcntl(fd, F_OFD_SETLK, &fl);
}
