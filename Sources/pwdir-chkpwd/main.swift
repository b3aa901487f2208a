// pwdir-chkpwd: the setuid-root helper pam_pwdir.so runs when its caller has no root (a screen
// locker). Everything it does is in PwdirCore's CheckerService; the statically linked runtime
// sees no SWIFT_* variable (CPwdirRuntimeEnv), whatever the caller's environment, and so the
// arguments come from the shim, not CommandLine.arguments.
import CPwdirRuntimeEnv
import PwdirCore

#if canImport(Glibc)
import Glibc
#endif

cpwdir_runtime_env_anchor()
let arguments = (1..<max(Int(cpwdir_argc()), 1)).map { String(cString: cpwdir_argv()[$0]!) }
exit(CheckerService.main(arguments))
