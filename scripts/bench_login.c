// make bench: N logins through libpam (pam_start_confdir + authenticate + acct_mgmt + pam_end)
// or N raw yescrypt hashes, for instruction counts under callgrind.
// Usage: bench_login USER HASH N raw|login CONFDIR
#include <security/pam_appl.h>
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int conv(int n, const struct pam_message **m, struct pam_response **r, void *d) {
  struct pam_response *a = calloc(n, sizeof *a);
  for (int i = 0; i < n; i++) a[i].resp = strdup("Correct-Horse-42");
  *r = a; return PAM_SUCCESS;
}
int main(int argc, char **argv) {
  int N = atoi(argv[3]);
  struct pam_conv c = { conv, NULL };
  for (int i = 0; i < N; i++) {
    if (argv[4][0] == 'r') {
      struct crypt_data *cd = calloc(1, sizeof *cd);
      crypt_rn("Correct-Horse-42", argv[2], cd, sizeof *cd);
      free(cd);
    } else {
      pam_handle_t *h; pam_start_confdir("bench", argv[1], &c, argv[5], &h);
      int rc = pam_authenticate(h, 0); if (rc == 0) rc = pam_acct_mgmt(h, 0);
      pam_end(h, rc);
      if (rc) return 1;
    }
  }
}
