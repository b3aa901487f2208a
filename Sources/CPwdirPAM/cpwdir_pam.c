#include "cpwdir_pam.h"

#include <stdlib.h>
#include <string.h>

void cpwdir_pam_syslog(pam_handle_t *pamh, int priority, const char *message) {
    pam_syslog(pamh, priority, "%s", message);
}

int cpwdir_pam_prompt(pam_handle_t *pamh, int style, char **response, const char *message) {
    return pam_prompt(pamh, style, response, "%s", message);
}

static void cpwdir_free_string(pam_handle_t *pamh, void *data, int error_status) {
    (void)pamh;
    (void)error_status;
    if (data != NULL) {
        explicit_bzero(data, strlen(data));
        free(data);
    }
}

int cpwdir_pam_set_string_data(pam_handle_t *pamh, const char *name, const char *value) {
    char *copy = strdup(value);
    if (copy == NULL) return PAM_BUF_ERR;
    int rc = pam_set_data(pamh, name, copy, cpwdir_free_string);
    if (rc != PAM_SUCCESS) cpwdir_free_string(pamh, copy, rc);
    return rc;
}

const char *cpwdir_pam_get_string_data(pam_handle_t *pamh, const char *name) {
    const void *data = NULL;
    if (pam_get_data(pamh, name, &data) != PAM_SUCCESS) return NULL;
    return data;
}

const char *cpwdir_pam_get_string_item(pam_handle_t *pamh, int item) {
    const void *value = NULL;
    if (pam_get_item(pamh, item, &value) != PAM_SUCCESS) return NULL;
    return value;
}
