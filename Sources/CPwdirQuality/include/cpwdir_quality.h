// Why this shim exists: <pwquality.h> is not a Swift module, and pwdir configures libpwquality
// only from pwdir.conf (never /etc/security/pwquality.conf), one "key=value" at a time.
#ifndef CPWDIR_QUALITY_H
#define CPWDIR_QUALITY_H

#include <stddef.h>

/// Checks `password` with libpwquality set up from `options` ("key=value", pwquality.conf
/// syntax). `old` (may be NULL) is the current password, for difok; `user` (may be NULL) for
/// usercheck/gecoscheck. Returns the score (0..100) or a negative PWQ_ERROR_*; the reason, in
/// pwquality's words, is written into `reason` when the result is negative.
/// cpwdir_quality_check's answer when dictcheck is on and libcrack's dictionary cannot be read
/// (`reason` then holds the dictionary's path). libpwquality would refuse every password with
/// "error loading dictionary" and libcrack would print on the host's stderr; the check stops first.
#define CPWDIR_QUALITY_NO_DICTIONARY (-10000)

int cpwdir_quality_check(const char *const *options, int count, const char *password,
                         const char *old, const char *user, char *reason, size_t reasonsize);

/// 0 if libpwquality accepts the option "key=value", else a negative PWQ_ERROR_* with the
/// reason in `reason`.
int cpwdir_quality_validate_option(const char *option, char *reason, size_t reasonsize);

#endif
