// Why this shim exists: the PAM headers are not a Swift module, and Swift cannot call the
// variadic pam_syslog / pam_prompt; these wrappers pass a fixed "%s" format instead.
#ifndef CPWDIR_PAM_H
#define CPWDIR_PAM_H

#include <stddef.h>
#include <security/pam_appl.h>
#include <security/pam_modules.h>
#include <security/pam_ext.h>
#include <syslog.h>

/// pam_syslog(pamh, priority, "%s", message): logs to authpriv with the service and module name.
void cpwdir_pam_syslog(pam_handle_t *pamh, int priority, const char *message);

/// pam_prompt(pamh, style, response, "%s", message). For PAM_ERROR_MSG / PAM_TEXT_INFO pass a
/// NULL response. The caller wipes and frees *response.
int cpwdir_pam_prompt(pam_handle_t *pamh, int style, char **response, const char *message);

/// pam_set_data with a strdup'd copy of `value`, wiped and freed by libpam at pam_end.
int cpwdir_pam_set_string_data(pam_handle_t *pamh, const char *name, const char *value);

/// pam_get_data for a string stored by cpwdir_pam_set_string_data; NULL if absent.
const char *cpwdir_pam_get_string_data(pam_handle_t *pamh, const char *name);

/// pam_set_data with a copy of `length` bytes, wiped and freed by libpam at pam_end (or when
/// replaced). `bytes` NULL removes the data.
int cpwdir_pam_set_bytes_data(pam_handle_t *pamh, const char *name, const void *bytes, size_t length);

/// pam_get_data for bytes stored by cpwdir_pam_set_bytes_data; NULL if absent, else the bytes
/// and their length in *length.
const void *cpwdir_pam_get_bytes_data(pam_handle_t *pamh, const char *name, size_t *length);

/// pam_get_item for string items (PAM_AUTHTOK, PAM_OLDAUTHTOK, PAM_SERVICE, ...); NULL if unset.
const char *cpwdir_pam_get_string_item(pam_handle_t *pamh, int item);

#endif
