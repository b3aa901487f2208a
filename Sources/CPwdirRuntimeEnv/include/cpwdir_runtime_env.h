// Why this shim exists: the Swift runtime carried inside pam_pwdir.so (and pwdir-chkpwd) reads
// SWIFT_* environment variables when it starts: SWIFT_BACKTRACE installs signal handlers in the
// host, SWIFT_DEBUG_HELP prints to its stderr, even in setuid programs. This target gives the
// statically linked runtime its own `environ` (empty) and `getenv` (which never returns a
// SWIFT_* variable), both hidden: the host and libc keep theirs. Link it only into the module
// and the helper; the `pwdir` command reads its environment normally.
#ifndef CPWDIR_RUNTIME_ENV_H
#define CPWDIR_RUNTIME_ENV_H

/// Referenced so the linker keeps this object.
void cpwdir_runtime_env_anchor(void);

/// The program's arguments as libc passed them to its constructors. A program linked with this
/// target must use these, not CommandLine.arguments: on Linux the runtime finds argv by walking
/// back from `environ`, which here is not the one on the stack.
int cpwdir_argc(void);
char *const *cpwdir_argv(void);

#endif
