#define _GNU_SOURCE
#include <sys/time.h> /* before ldap.h, which uses struct timeval without including it */
#include <ldap.h>
#include <lber.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cpwdir_ldap.h"

typedef struct {
    LDAP *ld;
    int timeout_ms;
} handle_t;

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* libldap reads ldap.conf, ~/.ldaprc and LDAP* variables at its first call unless LDAPNOINIT is
   set: pwdir's settings alone say where the server is and which CA to trust. */
static void no_ambient_configuration(void) { setenv("LDAPNOINIT", "1", 1); }

void cpwdir_ldap_initialize(void) {
    pthread_once(&once, no_ambient_configuration);
    int version = 0;
    ldap_get_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &version); /* runs ldap_int_initialize */
}

static struct timeval timeval_of(int ms) {
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    return tv;
}

int cpwdir_ldap_open(const char *uris, int starttls, const char *ca_file, int timeout_ms, void **out) {
    cpwdir_ldap_initialize();
    *out = NULL;
    LDAP *ld = NULL;
    int rc = ldap_initialize(&ld, uris);
    if (rc != LDAP_SUCCESS) return rc;
    int version = LDAP_VERSION3;
    struct timeval tv = timeval_of(timeout_ms);
    if ((rc = ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version)) != LDAP_OPT_SUCCESS ||
        (rc = ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv)) != LDAP_OPT_SUCCESS ||
        (rc = ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv)) != LDAP_OPT_SUCCESS ||
        (rc = ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF)) != LDAP_OPT_SUCCESS) {
        ldap_unbind_ext_s(ld, NULL, NULL);
        return LDAP_PARAM_ERROR;
    }
    if (ca_file && *ca_file) {
        int demand = LDAP_OPT_X_TLS_DEMAND, client = 0;
        /* A handle's TLS options are used only once it has its own context (NEWCTX). */
        if (ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, ca_file) != LDAP_OPT_SUCCESS ||
            ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
            ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &client) != LDAP_OPT_SUCCESS) {
            ldap_unbind_ext_s(ld, NULL, NULL);
            return LDAP_PARAM_ERROR;
        }
    }
    if (starttls) {
        rc = ldap_start_tls_s(ld, NULL, NULL);
        if (rc != LDAP_SUCCESS) {
            ldap_unbind_ext_s(ld, NULL, NULL);
            return rc;
        }
    }
    handle_t *h = calloc(1, sizeof *h);
    if (!h) {
        ldap_unbind_ext_s(ld, NULL, NULL);
        return LDAP_NO_MEMORY;
    }
    h->ld = ld;
    h->timeout_ms = timeout_ms;
    *out = h;
    return LDAP_SUCCESS;
}

void cpwdir_ldap_close(void *handle) {
    handle_t *h = handle;
    if (!h) return;
    ldap_unbind_ext_s(h->ld, NULL, NULL);
    free(h);
}

/* The answer to `msgid`: its result code, and the password-policy response control's error
   and expiry when there is one. */
static int finish(handle_t *h, int msgid, int *pp_error, int *expire) {
    if (pp_error) *pp_error = -1;
    if (expire) *expire = -1;
    struct timeval tv = timeval_of(h->timeout_ms);
    LDAPMessage *res = NULL;
    int got = ldap_result(h->ld, msgid, LDAP_MSG_ALL, &tv, &res);
    if (got == 0) {
        ldap_abandon_ext(h->ld, msgid, NULL, NULL);
        return LDAP_TIMEOUT;
    }
    if (got < 0) {
        int err = LDAP_SERVER_DOWN;
        ldap_get_option(h->ld, LDAP_OPT_RESULT_CODE, &err);
        return err == LDAP_SUCCESS ? LDAP_SERVER_DOWN : err;
    }
    int code = LDAP_OTHER;
    LDAPControl **ctrls = NULL;
    int rc = ldap_parse_result(h->ld, res, &code, NULL, NULL, NULL, &ctrls, 1);
    if (rc != LDAP_SUCCESS) return rc;
    LDAPControl *pp = ctrls ? ldap_control_find(LDAP_CONTROL_PASSWORDPOLICYRESPONSE, ctrls, NULL) : NULL;
    if (pp && pp_error) {
        ber_int_t exp = -1, grace = -1;
        LDAPPasswordPolicyError err = PP_noError;
        if (ldap_parse_passwordpolicy_control(h->ld, pp, &exp, &grace, &err) == LDAP_SUCCESS) {
            *pp_error = (int)err;
            if (expire) *expire = (int)exp;
        }
    }
    if (ctrls) ldap_controls_free(ctrls);
    return code;
}

int cpwdir_ldap_bind(void *handle, const char *dn, const char *password, size_t length, int *pp_error, int *expire) {
    handle_t *h = handle;
    *pp_error = -1;
    *expire = -1;
    LDAPControl *pp = NULL;
    int rc = ldap_create_passwordpolicy_control(h->ld, &pp);
    if (rc != LDAP_SUCCESS) return rc;
    LDAPControl *sctrls[] = { pp, NULL };
    struct berval cred = { length, (char *)password };
    int msgid = -1;
    rc = ldap_sasl_bind(h->ld, dn, LDAP_SASL_SIMPLE, &cred, sctrls, NULL, &msgid);
    ldap_control_free(pp);
    if (rc != LDAP_SUCCESS) return rc;
    return finish(h, msgid, pp_error, expire);
}

typedef struct {
    unsigned char *bytes;
    size_t length, capacity;
    int failed;
} buffer_t;

static void put(buffer_t *b, unsigned char tag, const char *bytes, size_t length) {
    if (b->failed) return;
    if (length > UINT32_MAX) { b->failed = 1; return; }
    size_t need = b->length + 5 + length;
    if (need > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 4096;
        while (capacity < need) capacity *= 2;
        unsigned char *grown = realloc(b->bytes, capacity);
        if (!grown) { b->failed = 1; return; }
        b->bytes = grown;
        b->capacity = capacity;
    }
    unsigned char *p = b->bytes + b->length;
    p[0] = tag;
    uint32_t n = (uint32_t)length;
    p[1] = n & 0xff; p[2] = (n >> 8) & 0xff; p[3] = (n >> 16) & 0xff; p[4] = (n >> 24) & 0xff;
    if (length) memcpy(p + 5, bytes, length);
    b->length = need;
}

int cpwdir_ldap_search(void *handle, const char *base, int scope, const char *filter, const char *const *attrs, int size_limit,
                       unsigned char **out, size_t *out_length) {
    handle_t *h = handle;
    *out = NULL;
    *out_length = 0;
    struct timeval tv = timeval_of(h->timeout_ms);
    LDAPMessage *res = NULL;
    int rc = ldap_search_ext_s(h->ld, base, scope, filter, (char **)attrs, 0, NULL, NULL, &tv, size_limit, &res);
    if (rc != LDAP_SUCCESS) {
        if (res) ldap_msgfree(res);
        return rc;
    }
    buffer_t b = { 0 };
    for (LDAPMessage *e = ldap_first_entry(h->ld, res); e; e = ldap_next_entry(h->ld, e)) {
        char *dn = ldap_get_dn(h->ld, e);
        put(&b, 'D', dn ? dn : "", dn ? strlen(dn) : 0);
        if (dn) ldap_memfree(dn);
        BerElement *ber = NULL;
        for (char *a = ldap_first_attribute(h->ld, e, &ber); a; a = ldap_next_attribute(h->ld, e, ber)) {
            put(&b, 'N', a, strlen(a));
            struct berval **vals = ldap_get_values_len(h->ld, e, a);
            for (int i = 0; vals && vals[i]; i++) put(&b, 'V', vals[i]->bv_val, vals[i]->bv_len);
            if (vals) ldap_value_free_len(vals);
            ldap_memfree(a);
        }
        if (ber) ber_free(ber, 0);
    }
    ldap_msgfree(res);
    if (b.failed) {
        free(b.bytes);
        return LDAP_NO_MEMORY;
    }
    *out = b.bytes;
    *out_length = b.length;
    return LDAP_SUCCESS;
}

void cpwdir_ldap_free(void *p) { free(p); }

/* LDAPMod array for `mods` (NULL on allocation failure); free with free_mods. */
static LDAPMod **make_mods(const cpwdir_ldap_mod *mods, int count, int adding) {
    LDAPMod **list = calloc((size_t)count + 1, sizeof *list);
    LDAPMod *storage = calloc((size_t)count + 1, sizeof *storage);
    if (!list || !storage) { free(list); free(storage); return NULL; }
    for (int i = 0; i < count; i++) {
        storage[i].mod_op = adding ? LDAP_MOD_ADD : mods[i].op;
        storage[i].mod_type = (char *)mods[i].name;
        /* An empty list means "no values" (replace: remove the attribute). */
        storage[i].mod_values = (mods[i].values && mods[i].values[0]) ? (char **)mods[i].values : NULL;
        list[i] = &storage[i];
    }
    return list;
}

static void free_mods(LDAPMod **list) {
    if (!list) return;
    free(list[0]);
    free(list);
}

/* The request controls: the policy request (for its answer), relax, an assertion. */
static int make_controls(handle_t *h, int relax, const char *assertion, LDAPControl **ctrls, LDAPControl **owned, int *n_owned) {
    int n = 0;
    *n_owned = 0;
    LDAPControl *pp = NULL;
    int rc = ldap_create_passwordpolicy_control(h->ld, &pp);
    if (rc != LDAP_SUCCESS) return rc;
    owned[(*n_owned)++] = pp;
    ctrls[n++] = pp;
    if (relax) {
        LDAPControl *r = NULL;
        rc = ldap_control_create(LDAP_CONTROL_RELAX, 1, NULL, 0, &r);
        if (rc != LDAP_SUCCESS) return rc;
        owned[(*n_owned)++] = r;
        ctrls[n++] = r;
    }
    if (assertion) {
        LDAPControl *a = NULL;
        rc = ldap_create_assertion_control(h->ld, (char *)assertion, 1, &a);
        if (rc != LDAP_SUCCESS) return rc;
        owned[(*n_owned)++] = a;
        ctrls[n++] = a;
    }
    ctrls[n] = NULL;
    return LDAP_SUCCESS;
}

static void free_controls(LDAPControl **owned, int n) {
    for (int i = 0; i < n; i++) ldap_control_free(owned[i]);
}

int cpwdir_ldap_modify(void *handle, const char *dn, const cpwdir_ldap_mod *mods, int count, int relax, const char *assertion, int *pp_error) {
    handle_t *h = handle;
    *pp_error = -1;
    LDAPControl *ctrls[4], *owned[3];
    int n_owned = 0;
    int rc = make_controls(h, relax, assertion, ctrls, owned, &n_owned);
    if (rc != LDAP_SUCCESS) { free_controls(owned, n_owned); return rc; }
    LDAPMod **list = make_mods(mods, count, 0);
    if (!list) { free_controls(owned, n_owned); return LDAP_NO_MEMORY; }
    int msgid = -1;
    rc = ldap_modify_ext(h->ld, dn, list, ctrls, NULL, &msgid);
    free_mods(list);
    free_controls(owned, n_owned);
    if (rc != LDAP_SUCCESS) return rc;
    return finish(h, msgid, pp_error, NULL);
}

int cpwdir_ldap_add(void *handle, const char *dn, const cpwdir_ldap_mod *attrs, int count, int relax) {
    handle_t *h = handle;
    LDAPControl *ctrls[4], *owned[3];
    int n_owned = 0;
    int rc = make_controls(h, relax, NULL, ctrls, owned, &n_owned);
    if (rc != LDAP_SUCCESS) { free_controls(owned, n_owned); return rc; }
    LDAPMod **list = make_mods(attrs, count, 1);
    if (!list) { free_controls(owned, n_owned); return LDAP_NO_MEMORY; }
    rc = ldap_add_ext_s(h->ld, dn, list, ctrls, NULL);
    free_mods(list);
    free_controls(owned, n_owned);
    return rc;
}

int cpwdir_ldap_delete(void *handle, const char *dn) {
    handle_t *h = handle;
    return ldap_delete_ext_s(h->ld, dn, NULL, NULL);
}

void cpwdir_ldap_diagnostic(void *handle, char *buf, size_t length) {
    handle_t *h = handle;
    if (!length) return;
    buf[0] = 0;
    char *msg = NULL;
    if (h && ldap_get_option(h->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) == LDAP_OPT_SUCCESS && msg) {
        strncpy(buf, msg, length - 1);
        buf[length - 1] = 0;
        ldap_memfree(msg);
    }
}

const char *cpwdir_ldap_err2string(int code) { return ldap_err2string(code); }
