#define _GNU_SOURCE
#include "cpwdir_crypt.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
