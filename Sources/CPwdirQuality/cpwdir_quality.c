#include "cpwdir_quality.h"

#include <pwquality.h>
#include <stdio.h>

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
    int score = pwquality_check(pwq, password, old, user, &aux);
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
