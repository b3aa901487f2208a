// make bench: one password change through libpam as root (the host's view of `passwd`, or of
// sshd's child at a forced change): pam_start_confdir + pam_chauthtok + pam_end, or with
// "none" only pam_start_confdir + pam_end (the host's memory without the change).
// Usage: bench_chauthtok USER NEWPASSWORD CONFDIR change|none
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int conv(int n, const struct pam_message **m, struct pam_response **r, void *d) {
  struct pam_response *a = calloc(n, sizeof *a);
  for (int i = 0; i < n; i++)
    if (m[i]->msg_style == PAM_PROMPT_ECHO_OFF || m[i]->msg_style == PAM_PROMPT_ECHO_ON) a[i].resp = strdup(d);
  *r = a;
  return PAM_SUCCESS;
}
int main(int argc, char **argv) {
  if (argc != 5) return 64;
  struct pam_conv c = { conv, argv[2] };
  pam_handle_t *h;
  if (pam_start_confdir("bench", argv[1], &c, argv[3], &h) != PAM_SUCCESS) return 70;
  int rc = PAM_SUCCESS;
  if (strcmp(argv[4], "change") == 0) rc = pam_chauthtok(h, 0);
  pam_end(h, rc);
  if (rc != PAM_SUCCESS) fprintf(stderr, "pam_chauthtok: %d\n", rc);
  return rc == PAM_SUCCESS ? 0 : 1;
}
