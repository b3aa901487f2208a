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

// Bytes kept with the handle: a length, then the bytes.
struct cpwdir_bytes {
    size_t length;
    unsigned char bytes[];
};

static void cpwdir_free_bytes(pam_handle_t *pamh, void *data, int error_status) {
    (void)pamh;
    (void)error_status;
    if (data != NULL) {
        struct cpwdir_bytes *b = data;
        explicit_bzero(b, sizeof *b + b->length);
        free(b);
    }
}

int cpwdir_pam_set_bytes_data(pam_handle_t *pamh, const char *name, const void *bytes, size_t length) {
    if (bytes == NULL) return pam_set_data(pamh, name, NULL, NULL);
    struct cpwdir_bytes *copy = malloc(sizeof *copy + length);
    if (copy == NULL) return PAM_BUF_ERR;
    copy->length = length;
    memcpy(copy->bytes, bytes, length);
    int rc = pam_set_data(pamh, name, copy, cpwdir_free_bytes);
    if (rc != PAM_SUCCESS) cpwdir_free_bytes(pamh, copy, rc);
    return rc;
}

const void *cpwdir_pam_get_bytes_data(pam_handle_t *pamh, const char *name, size_t *length) {
    const void *data = NULL;
    if (pam_get_data(pamh, name, &data) != PAM_SUCCESS || data == NULL) return NULL;
    const struct cpwdir_bytes *b = data;
    *length = b->length;
    return b->bytes;
}
