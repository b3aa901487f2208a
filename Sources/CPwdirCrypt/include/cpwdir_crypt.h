// Why this shim exists: <crypt.h> is not a Swift module, and `struct crypt_data` is too large
// for Swift to allocate comfortably; the hash is made in a heap buffer wiped before it is freed.
#ifndef CPWDIR_CRYPT_H
#define CPWDIR_CRYPT_H

#include <stddef.h>
#include <sys/types.h>

/// Size of the buffer `cpwdir_crypt` writes its result into (CRYPT_OUTPUT_SIZE).
size_t cpwdir_crypt_output_size(void);

/// `crypt_gensalt_rn(prefix, count, NULL, 0, out, outsize)`: a setting with fresh random salt.
/// Returns 0 on success, -1 (errno set) on failure.
int cpwdir_crypt_gensalt(const char *prefix, unsigned long count, char *out, int outsize);

/// `crypt_rn(phrase, setting, ...)` with a heap `crypt_data` that is wiped and freed before
/// returning; the hash is copied into `out` (at least cpwdir_crypt_output_size() bytes).
/// Returns 0 on success, -1 when libxcrypt failed (invalid setting, out of memory).
int cpwdir_crypt(const char *phrase, const char *setting, char *out, size_t outsize);

#endif
