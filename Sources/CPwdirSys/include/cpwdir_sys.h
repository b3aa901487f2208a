// Why this shim exists: the libc pieces pwdir needs beyond Swift's Glibc module: some hide
// behind feature macros it does not turn on (OFD locks, explicit_bzero, getrandom, closefrom in
// posix_spawn), some are variadic (syslog), and spawning a child inside a PAM host must not
// touch the host's signal state, which is easier to get right in C.
#ifndef CPWDIR_SYS_H
#define CPWDIR_SYS_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

/// explicit_bzero: wipes memory the compiler may not optimise away.
void cpwdir_wipe(void *p, size_t n);
/// sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE): starts writing a file's dirty pages back.
int cpwdir_start_writeback(int fd);

/// getrandom(2) retried on EINTR and short reads; 0 on success, -1 on failure.
int cpwdir_random(void *p, size_t n);

/// fcntl open-file-description lock on the whole file (F_OFD_SETLK / F_OFD_SETLKW);
/// `exclusive` picks a write lock, `wait` the blocking form. 0, or -1 with errno.
int cpwdir_ofd_lock(int fd, int exclusive, int wait);

/// fcntl(fd, F_OFD_SETLK, F_UNLCK).
int cpwdir_ofd_unlock(int fd);


/// Runs argv[0] (an absolute path) with `envp`, no shell: `input` on its stdin, stdout and
/// stderr captured (truncated to their capacities), every other descriptor closed in the child,
/// signal mask emptied and dispositions reset there; nothing of the caller's signal state is
/// touched. With `exec_fd` >= 0, the program run is the file open on that descriptor (checked
/// by the caller, so the path cannot be swapped between the check and the exec) and argv[0] is
/// only the name it is given. Kills the child after `timeout_ms`. On return *status is the wait
/// status, or -1 when it could not be had (the caller ignores SIGCHLD: the child was reaped by
/// the kernel), and *timed_out says whether it was killed. Returns 0, or -1 with errno when it
/// could not be started.
int cpwdir_spawn(char *const argv[], char *const envp[], int exec_fd, const void *input, size_t input_len,
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

/// openlog(ident, LOG_PID, facility) + syslog(priority, "%s", message) + closelog(): one line
/// to syslog from a program (the module logs through pam_syslog instead). `facility_priority`
/// is e.g. LOG_AUTHPRIV | LOG_NOTICE.
void cpwdir_syslog(int facility_priority, const char *ident, const char *message);

/// What cpwdir_critical_enter changed, for cpwdir_critical_leave to put back.
struct cpwdir_critical {
    sigset_t mask;
    uid_t ruid, euid, suid;
    int ids_changed;
};

/// Makes the calling thread hard to stop while it holds a lock others wait for: blocks the
/// job-control stop signals (SIGTSTP, SIGTTIN, SIGTTOU: a terminal sends them whatever the
/// ids), and, in a process running with euid 0 for another real user (a setuid program such as
/// su), makes every uid 0 so that user can no longer send it SIGSTOP. Always returns 0.
int cpwdir_critical_enter(struct cpwdir_critical *saved);

/// Puts back the uids and the signal mask saved by cpwdir_critical_enter.
void cpwdir_critical_leave(const struct cpwdir_critical *saved);

/// SO_PEERCRED of a connected Unix socket (struct ucred needs _GNU_SOURCE, which Swift's Glibc
/// module does not turn on): who is at the other end. 0, or -1 with errno.
int cpwdir_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

#endif
