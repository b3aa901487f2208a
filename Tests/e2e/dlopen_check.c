/* dlopen_check MODULE [NAME...]
 *
 * Loads the PAM module as libpam does (RTLD_NOW|RTLD_LOCAL), checks that dlsym finds the six
 * pam_sm_* entry points and that it finds none of the module's internals: the Swift runtime,
 * the C shims, Swift-mangled names (a few built in, more given as arguments).
 * Prints one line per problem and how long dlopen took; exit 0 when there is no problem. */
#include <dlfcn.h>
#include <stdio.h>
#include <time.h>

static const char *const required[] = {
    "pam_sm_authenticate", "pam_sm_setcred", "pam_sm_acct_mgmt",
    "pam_sm_chauthtok", "pam_sm_open_session", "pam_sm_close_session",
};

static const char *const forbidden[] = {
    "swift_retain", "swift_release", "swift_allocObject", "swift_once", "swift_bridgeObjectRetain",
    "swift_getTypeByMangledNameInContext", "swift_beginAccess",
    "$ss5print_9separator10terminatoryypd_S2StF",
    "$s9PwdirCore8YescryptO6verify_7against12dummySettingSbAA11SecretBytesC_SSSgSStFZ",
    "$s9PwdirCore13DirectoryFileV6lookupyAA10UserRecordVSgSSAA0B5ErrorOYKF",
    "cpwdir_crypt", "cpwdir_crypt_gensalt", "cpwdir_wipe", "cpwdir_random",
    "cpwdir_pam_syslog", "cpwdir_pam_prompt", "cpwdir_ofd_lock",
};

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODULE [FORBIDDEN-NAME...]\n", argv[0]);
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (h == NULL) {
        printf("dlopen failed: %s\n", dlerror());
        return 1;
    }
    printf("dlopen took %ld us\n", (long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
    int problems = 0;
    for (size_t i = 0; i < sizeof required / sizeof *required; i++) {
        dlerror();
        if (dlsym(h, required[i]) == NULL) {
            printf("missing entry point: %s\n", required[i]);
            problems++;
        }
    }
    for (size_t i = 0; i < sizeof forbidden / sizeof *forbidden; i++) {
        dlerror();
        if (dlsym(h, forbidden[i]) != NULL) {
            printf("visible internal symbol: %s\n", forbidden[i]);
            problems++;
        }
    }
    for (int i = 2; i < argc; i++) {
        dlerror();
        if (dlsym(h, argv[i]) != NULL) {
            printf("visible internal symbol: %s\n", argv[i]);
            problems++;
        }
    }
    printf("checked %d names: %d problem(s)\n",
           (int)(sizeof required / sizeof *required + sizeof forbidden / sizeof *forbidden) + argc - 2, problems);
    return problems == 0 ? 0 : 1;
}
