#ifndef CPWDIR_LDAP_H
#define CPWDIR_LDAP_H
/* libldap behind a flat API: Swift never builds LDAPMod unions or BER values. The command and
   pwdird link it; the PAM module never does (libldap brings gnutls and sasl into sshd). */
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Client-side codes (libldap's, negative) the callers treat as "the server is out of reach". */
#define CPWDIR_LDAP_SERVER_DOWN (-1)
#define CPWDIR_LDAP_TIMEOUT (-5)
#define CPWDIR_LDAP_CONNECT_ERROR (-11)

/* libldap's global state, made before any thread opens a handle (and LDAPNOINIT set). */
void cpwdir_ldap_initialize(void);

/* A handle for the space-separated `uris` (tried in order), with `timeout_ms` for connecting
   and for each operation; `starttls` 1 asks StartTLS; `ca_file` (may be NULL) is the only CA
   trusted for TLS. libldap's own configuration files and LDAP* variables are never read.
   Returns an LDAP result code; on success *handle is set. */
int cpwdir_ldap_open(const char *uris, int starttls, const char *ca_file, int timeout_ms, void **handle);
void cpwdir_ldap_close(void *handle);

/* A simple bind with the password-policy request control (draft-behera). *pp_error is the
   control's error (0 expired, 1 locked, 2 must change, ... 65535 none), -1 when the answer had
   no control; *expire the seconds before expiry (-1: none). Returns the result code. */
int cpwdir_ldap_bind(void *handle, const char *dn, const char *password, size_t length, int *pp_error, int *expire);

/* A search; the entries come back in one malloc'd buffer (free with cpwdir_ldap_free) of
   records, each a tag byte then a 4-byte little-endian length and the bytes:
   'D' the DN of a new entry, 'N' an attribute name, 'V' one of its values. `attrs` is
   NULL-terminated (NULL: all user attributes). */
int cpwdir_ldap_search(void *handle, const char *base, int scope, const char *filter, const char *const *attrs, int size_limit,
                       unsigned char **out, size_t *out_length);
void cpwdir_ldap_free(void *p);

/* One modification: op 0 add, 1 delete, 2 replace (no values: remove the attribute). */
typedef struct {
    int op;
    const char *name;
    const char *const *values; /* NULL-terminated, may be empty */
} cpwdir_ldap_mod;

/* Modify (relax: the relax rules control, for the password policy's operational attributes;
   assertion: an RFC 4528 filter the entry must match, or NULL). *pp_error as for bind. */
int cpwdir_ldap_modify(void *handle, const char *dn, const cpwdir_ldap_mod *mods, int count, int relax, const char *assertion, int *pp_error);
/* Add an entry (every mod's op is ignored: all are values to add). */
int cpwdir_ldap_add(void *handle, const char *dn, const cpwdir_ldap_mod *attrs, int count, int relax);
int cpwdir_ldap_delete(void *handle, const char *dn);

/* The server's or libldap's diagnostic text for the last operation on this handle ("" if none),
   in buf. */
void cpwdir_ldap_diagnostic(void *handle, char *buf, size_t length);
const char *cpwdir_ldap_err2string(int code);

#ifdef __cplusplus
}
#endif
#endif
