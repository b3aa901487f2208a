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
