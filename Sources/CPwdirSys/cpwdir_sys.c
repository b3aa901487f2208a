#define _GNU_SOURCE
#include "cpwdir_sys.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

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

// The child's signal state: an empty mask and every disposition back to default, whatever the
// host had (sshd blocks and catches signals); plus `flags` (process group, new session).
static void cpwdir_spawn_attrs(posix_spawnattr_t *attr, short flags) {
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_init(attr);
    posix_spawnattr_setsigmask(attr, &none);
    posix_spawnattr_setsigdefault(attr, &all);
    posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | flags);
}

static long cpwdir_ms_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int cpwdir_spawn(char *const argv[], char *const envp[], int exec_fd, const void *input, size_t input_len,
                 int timeout_ms, char *out, size_t out_cap, size_t *out_len,
                 char *err, size_t err_cap, size_t *err_len, int *status, int *timed_out) {
    // stdin is a socket, not a pipe: writing to a child that exited gives EPIPE with
    // MSG_NOSIGNAL instead of a SIGPIPE that would kill the host (sshd, login).
    int in_pipe[2], out_pipe[2], err_pipe[2];
    *out_len = *err_len = 0;
    *status = -1;
    *timed_out = 0;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pipe) != 0) return -1;
    if (pipe2(out_pipe, O_CLOEXEC) != 0) { close(in_pipe[0]); close(in_pipe[1]); return -1; }
    if (pipe2(err_pipe, O_CLOEXEC) != 0) {
        close(in_pipe[0]); close(in_pipe[1]); close(out_pipe[0]); close(out_pipe[1]);
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
    // The host's descriptors (sshd's sockets, say) must not leak into the child; the program's
    // own descriptor, if any, is the one kept, as 3, and run through /proc/self/fd/3.
    const char *path = argv[0];
    if (exec_fd >= 0) {
        posix_spawn_file_actions_adddup2(&fa, exec_fd, 3);
        posix_spawn_file_actions_addclosefrom_np(&fa, 4);
        path = "/proc/self/fd/3";
    } else {
        posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    }
    // Its own process group, so a timeout kills whatever it started too.
    cpwdir_spawn_attrs(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    pid_t pid;
    int rc = posix_spawn(&pid, path, &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(in_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (rc != 0) {
        close(in_pipe[1]); close(out_pipe[0]); close(err_pipe[0]);
        errno = rc;
        return -1;
    }
    fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
    size_t written = 0;
    int in_fd = in_pipe[1], out_fd = out_pipe[0], err_fd = err_pipe[0];
    if (input_len == 0) { close(in_fd); in_fd = -1; }
    long deadline = cpwdir_ms_now() + timeout_ms;
    char scratch[4096];
    while (out_fd >= 0 || err_fd >= 0) {
        long left = deadline - cpwdir_ms_now();
        if (left <= 0) { *timed_out = 1; kill(-pid, SIGKILL); kill(pid, SIGKILL); break; }
        struct pollfd p[3];
        int n = 0, iin = -1, iout = -1, ierr = -1;
        if (in_fd >= 0) { p[n].fd = in_fd; p[n].events = POLLOUT; iin = n++; }
        if (out_fd >= 0) { p[n].fd = out_fd; p[n].events = POLLIN; iout = n++; }
        if (err_fd >= 0) { p[n].fd = err_fd; p[n].events = POLLIN; ierr = n++; }
        int r = poll(p, n, (int)left);
        if (r < 0) { if (errno == EINTR) continue; kill(-pid, SIGKILL); kill(pid, SIGKILL); break; }
        if (iin >= 0 && p[iin].revents) {
            ssize_t w = send(in_fd, (const char *)input + written, input_len - written, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) written += (size_t)w;
            if (w < 0 && errno != EAGAIN && errno != EINTR) written = input_len;  // reader gone
            if (written >= input_len) { close(in_fd); in_fd = -1; }
        }
        int *fds[2] = { &out_fd, &err_fd };
        int idx[2] = { iout, ierr };
        char *bufs[2] = { out, err };
        size_t caps[2] = { out_cap, err_cap };
        size_t *lens[2] = { out_len, err_len };
        for (int k = 0; k < 2; k++) {
            if (idx[k] < 0 || !p[idx[k]].revents) continue;
            ssize_t got = read(*fds[k], scratch, sizeof scratch);
            if (got > 0) {
                size_t room = caps[k] - *lens[k];
                size_t take = (size_t)got < room ? (size_t)got : room;
                memcpy(bufs[k] + *lens[k], scratch, take);
                *lens[k] += take;
            } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                close(*fds[k]);
                *fds[k] = -1;
            }
        }
    }
    if (in_fd >= 0) close(in_fd);
    if (out_fd >= 0) close(out_fd);
    if (err_fd >= 0) close(err_fd);
    // The child may have closed its output and still be running: the deadline holds here too.
    int ws;
    for (;;) {
        pid_t w = waitpid(pid, &ws, WNOHANG);
        if (w == pid) { *status = ws; break; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) break;  // ECHILD: the host reaps its children itself; the status is lost
        if (!*timed_out && cpwdir_ms_now() >= deadline) {
            *timed_out = 1;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
        }
        struct timespec pause = { 0, 5 * 1000000L };
        nanosleep(&pause, NULL);
    }
    return 0;
}

int cpwdir_spawn_background(char *const argv[], char *const envp[], const void *input, size_t input_len) {
    int p[2];
    if (input_len > 4096 || pipe2(p, O_CLOEXEC) != 0) return -1;
    // Small enough for the pipe's buffer: written before the child runs, never blocking.
    if (write(p[1], input, input_len) != (ssize_t)input_len) { close(p[0]); close(p[1]); return -1; }
    close(p[1]);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[0], 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    cpwdir_spawn_attrs(&attr, POSIX_SPAWN_SETSID);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(p[0]);
    if (rc != 0) { errno = rc; return -1; }
    return pid;
}

int cpwdir_become_root(void) {
    if (setgroups(0, NULL) != 0) return -1;
    if (setresgid(0, 0, 0) != 0) return -1;
    if (setresuid(0, 0, 0) != 0) return -1;
    return 0;
}

void cpwdir_syslog(int facility_priority, const char *ident, const char *message) {
    openlog(ident, LOG_PID, facility_priority & LOG_FACMASK);
    syslog(facility_priority, "%s", message);
    closelog();
}

int cpwdir_critical_enter(struct cpwdir_critical *saved) {
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTSTP);
    sigaddset(&stops, SIGTTIN);
    sigaddset(&stops, SIGTTOU);
    pthread_sigmask(SIG_BLOCK, &stops, &saved->mask);
    saved->ids_changed = 0;
    if (getresuid(&saved->ruid, &saved->euid, &saved->suid) == 0 && saved->euid == 0 &&
        (saved->ruid != 0 || saved->suid != 0) && setresuid(0, 0, 0) == 0) {
        saved->ids_changed = 1;
    }
    return 0;
}

void cpwdir_critical_leave(const struct cpwdir_critical *saved) {
    // euid is still 0 here, so any ids may be set back.
    if (saved->ids_changed) (void)setresuid(saved->ruid, saved->euid, saved->suid);
    pthread_sigmask(SIG_SETMASK, &saved->mask, NULL);
}

int cpwdir_start_writeback(int fd) { return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE); }

int cpwdir_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred cred;
    socklen_t length = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) return -1;
    if (length != sizeof cred) { errno = EPROTO; return -1; }
    *pid = cred.pid;
    *uid = cred.uid;
    *gid = cred.gid;
    return 0;
}
