#include "cpwdir_runtime_env.h"

#include <stddef.h>
#include <string.h>

// libc's own, which this file's `environ` hides from the objects linked with it.
extern char **__environ;

static char *cpwdir_no_variables[1] = { NULL };

// The environment the runtime scans at start-up (swift::runtime::environment::initialize).
__attribute__((visibility("hidden"))) char **environ = cpwdir_no_variables;

// getenv for the runtime's other readers (the backtracer): the host's variables, except SWIFT_*.
__attribute__((visibility("hidden"))) char *getenv(const char *name) {
    if (name == NULL || strncmp(name, "SWIFT_", 6) == 0) return NULL;
    size_t n = strlen(name);
    for (char **e = __environ; e != NULL && *e != NULL; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
    }
    return NULL;
}

void cpwdir_runtime_env_anchor(void) {}

static int cpwdir_saved_argc;
static char *const *cpwdir_saved_argv;

// glibc calls .init_array functions with (argc, argv, envp), in a program and in a library alike.
static void cpwdir_capture_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    cpwdir_saved_argc = argc;
    cpwdir_saved_argv = argv;
}

__attribute__((section(".init_array"), used))
static void (*const cpwdir_capture_arguments_entry)(int, char **, char **) = cpwdir_capture_arguments;

int cpwdir_argc(void) { return cpwdir_saved_argv == NULL ? 0 : cpwdir_saved_argc; }
char *const *cpwdir_argv(void) { return cpwdir_saved_argv; }
