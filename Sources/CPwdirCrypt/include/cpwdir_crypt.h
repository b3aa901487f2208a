// Why this shim exists: <crypt.h> is not a Swift module, `struct crypt_data` is too large for
// Swift to allocate comfortably, and a few libc pieces we need (OFD locks, explicit_bzero,
// getrandom) hide behind feature macros that Swift's Glibc module does not turn on.
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

/// explicit_bzero: wipes memory the compiler may not optimise away.
void cpwdir_wipe(void *p, size_t n);

/// getrandom(2) retried on EINTR and short reads; 0 on success, -1 on failure.
int cpwdir_random(void *p, size_t n);

/// fcntl open-file-description lock on the whole file (F_OFD_SETLK / F_OFD_SETLKW);
/// `exclusive` picks a write lock, `wait` the blocking form. 0, or -1 with errno.
int cpwdir_ofd_lock(int fd, int exclusive, int wait);

/// fcntl(fd, F_OFD_SETLK, F_UNLCK).
int cpwdir_ofd_unlock(int fd);

#endif

/// Runs argv[0] (an absolute path) with `envp`, no shell: `input` on its stdin, stdout and
/// stderr captured (truncated to their capacities), every other descriptor closed in the child,
/// signal mask emptied and dispositions reset there; nothing of the caller's signal state is
/// touched. Kills the child after `timeout_ms`. On return *status is the wait status, or -1
/// when it could not be had (the caller ignores SIGCHLD: the child was reaped by the kernel),
/// and *timed_out says whether it was killed. Returns 0, or -1 with errno when it could not
/// be started.
int cpwdir_spawn(char *const argv[], char *const envp[], const void *input, size_t input_len,
                 int timeout_ms, char *out, size_t out_cap, size_t *out_len,
                 char *err, size_t err_cap, size_t *err_len, int *status, int *timed_out);

/// posix_spawn of argv[0] in a new session (POSIX_SPAWN_SETSID), `input` on its stdin (through
/// a pipe, so nothing typed by a user shows in argv), stdout and stderr on /dev/null, other
/// descriptors closed, signal mask empty and dispositions default; not waited for. For a
/// short-lived parent that hands work to a background child. Returns the pid or -1.
int cpwdir_spawn_background(char *const argv[], char *const envp[], const void *input, size_t input_len);

/// Makes every uid and gid 0 and drops supplementary groups (a helper started by a setuid
/// program such as su keeps the caller's real uid otherwise). 0, or -1 with errno.
int cpwdir_become_root(void);
