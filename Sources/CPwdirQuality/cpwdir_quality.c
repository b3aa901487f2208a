#include "cpwdir_quality.h"

#include <pwquality.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

// libcrack's compiled-in dictionary (CRACKLIB_DICTPATH); weak: libcrack comes in through
// libpwquality, and its headers (libcrack2-dev) are not needed to build.
extern const char *GetDefaultCracklibDict(void) __attribute__((weak));
extern const char *FascistCheck(const char *pw, const char *dictpath) __attribute__((weak));
static const char cpwdir_debian_dictionary[] = "/var/cache/cracklib/cracklib_dict";

// libcrack's FascistCheck leaves the password it checked (lower-cased, reversed) in its static
// buffers, in the host, after pam_end. One more check of a dummy that libcrack accepts and that
// is at least as long overwrites them. (A dummy it refused early would overwrite nothing.)
static const char cpwdir_dummy[] =
    "Qv8#Tm2!Rx7%Lp4*Wz9@Hk3=Nb6^Jd5+Fs1=Gc8~Yt2?Ue7;Ma4:Ko9]Pi3[Sl6{Dh1}Bn5<Cw8>Xr2|Ez7,Vq4.Oj9_";

static void cpwdir_quality_overwrite_libcrack(size_t length, const char *dictpath) {
    if (FascistCheck == NULL) return;
    char dummy[1024];
    size_t n = length < sizeof cpwdir_dummy - 1 ? sizeof cpwdir_dummy - 1 : length;
    if (n >= sizeof dummy) n = sizeof dummy - 1;
    for (size_t i = 0; i < n; i++) dummy[i] = cpwdir_dummy[(i + i / (sizeof cpwdir_dummy - 1)) % (sizeof cpwdir_dummy - 1)];
    dummy[n] = '\0';
    (void)FascistCheck(dummy, dictpath);
}

// With dictcheck on, the dictionary libcrack will open (PATH.pwd, .pwi, .hwm) must be readable;
// 0 when it is (or dictcheck is off), else CPWDIR_QUALITY_NO_DICTIONARY with the path in `reason`.
static int cpwdir_quality_dictionary(pwquality_settings_t *pwq, char *reason, size_t reasonsize, const char **used) {
    *used = NULL;
    int check = 1;
    if (pwquality_get_int_value(pwq, PWQ_SETTING_DICT_CHECK, &check) == 0 && check == 0) return 0;
    const char *path = NULL;
    if (pwquality_get_str_value(pwq, PWQ_SETTING_DICT_PATH, &path) != 0 || path == NULL || path[0] == '\0') {
        path = GetDefaultCracklibDict != NULL ? GetDefaultCracklibDict() : NULL;
        if (path == NULL) path = cpwdir_debian_dictionary;
    }
    static const char *const parts[] = { ".pwd", ".pwi", ".hwm" };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        char file[4096];
        if (snprintf(file, sizeof file, "%s%s", path, parts[i]) >= (int)sizeof file || access(file, R_OK) != 0) {
            snprintf(reason, reasonsize, "%s", file);
            return CPWDIR_QUALITY_NO_DICTIONARY;
        }
    }
    *used = path;
    return 0;
}

// pwquality_strerror may return a constant string instead of filling `buf`.
static void cpwdir_quality_reason(char *reason, size_t reasonsize, int rc, void *aux) {
    const char *m = pwquality_strerror(reason, reasonsize, rc, aux);
    if (m != NULL && m != reason) snprintf(reason, reasonsize, "%s", m);
}

int cpwdir_quality_check(const char *const *options, int count, const char *password,
                         const char *old, const char *user, char *reason, size_t reasonsize) {
    void *aux = NULL;
    pwquality_settings_t *pwq = pwquality_default_settings();
    if (pwq == NULL) {
        snprintf(reason, reasonsize, "libpwquality could not allocate its settings");
        return PWQ_ERROR_MEM_ALLOC;
    }
    for (int i = 0; i < count; i++) {
        int rc = pwquality_set_option(pwq, options[i]);
        if (rc != 0) {
            snprintf(reason, reasonsize, "bad password-quality setting '%s'", options[i]);
            pwquality_free_settings(pwq);
            return rc;
        }
    }
    const char *dictionary = NULL;
    int missing = cpwdir_quality_dictionary(pwq, reason, reasonsize, &dictionary);
    if (missing != 0) {
        pwquality_free_settings(pwq);
        return missing;
    }
    int score = pwquality_check(pwq, password, old, user, &aux);
    if (dictionary != NULL) cpwdir_quality_overwrite_libcrack(strlen(password), dictionary);
    if (score < 0) cpwdir_quality_reason(reason, reasonsize, score, aux);
    pwquality_free_settings(pwq);
    return score;
}

int cpwdir_quality_validate_option(const char *option, char *reason, size_t reasonsize) {
    pwquality_settings_t *pwq = pwquality_default_settings();
    if (pwq == NULL) return PWQ_ERROR_MEM_ALLOC;
    int rc = pwquality_set_option(pwq, option);
    if (rc != 0) cpwdir_quality_reason(reason, reasonsize, rc, NULL);
    pwquality_free_settings(pwq);
    return rc;
}
