#define _GNU_SOURCE
#include "cpwdir_oath.h"

#include <liboath/oath.h>
#include <string.h>

enum { DIGITS = 6, PERIOD = 30 };

int cpwdir_totp_code(const uint8_t *key, size_t key_length, int64_t step, char out[7]) {
    /* oath_init at every call (it is cheap and may be repeated): another module in the process
       (pam_oath) may have called oath_done. Never oath_done here, for the same reason. */
    int rc = oath_init();
    if (rc != OATH_OK) return rc;
    if (step < 0 || step > INT64_MAX / PERIOD) return OATH_INVALID_TIMESTAMP;
    return oath_totp_generate2((const char *)key, key_length, (time_t)(step * PERIOD), PERIOD, 0, DIGITS, 0, out);
}

int cpwdir_totp_match(const uint8_t *key, size_t key_length, int64_t now, unsigned window,
                      int64_t last_step, const char *code, int64_t *matched) {
    if (strlen(code) != DIGITS || now < 0) return 0;
    int64_t current = now / PERIOD;
    int64_t fresh = -1, replayed = -1;
    char buf[DIGITS + 1];
    int rc = 0;
    for (int64_t step = current - (int64_t)window; step <= current + (int64_t)window; step++) {
        if (step < 0) continue;
        rc = cpwdir_totp_code(key, key_length, step, buf);
        if (rc != OATH_OK) break;
        unsigned char diff = 0;
        for (int i = 0; i < DIGITS; i++) diff |= (unsigned char)(buf[i] ^ code[i]);
        if (diff == 0) {
            if (step > last_step) { if (fresh < 0) fresh = step; }
            else replayed = step;
        }
    }
    explicit_bzero(buf, sizeof buf);
    if (rc != OATH_OK) return rc;
    if (fresh >= 0) { *matched = fresh; return 1; }
    return replayed >= 0 ? 2 : 0;
}
