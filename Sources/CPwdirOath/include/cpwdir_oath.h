#ifndef CPWDIR_OATH_H
#define CPWDIR_OATH_H

#include <stddef.h>
#include <stdint.h>

/* TOTP (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits) through liboath. */

/* The code of `step` (seconds since the epoch / 30) into out (7 bytes: 6 digits and a NUL).
   0, or a negative liboath error. */
int cpwdir_totp_code(const uint8_t *key, size_t key_length, int64_t step, char out[7]);

/* Looks for `code` among the steps now/30 - window ... now/30 + window. Every step is computed
   and compared (in constant time) whatever matches, so the time says nothing of where.
   1: it is the code of a step after `last_step` (*matched: that step; the earliest if more);
   2: it is only the code of steps at or before `last_step` (a replay);
   0: no step's code; negative: a liboath error. */
int cpwdir_totp_match(const uint8_t *key, size_t key_length, int64_t now, unsigned window,
                      int64_t last_step, const char *code, int64_t *matched);

#endif
