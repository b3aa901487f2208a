#include "cpwdir_qr.h"

#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

int cpwdir_qr_encode(const char *text, unsigned char **modules) {
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (qr == NULL) return -1;
    int width = qr->width;
    unsigned char *out = malloc((size_t)width * (size_t)width);
    if (out == NULL) { QRcode_free(qr); return -1; }
    for (int i = 0; i < width * width; i++) out[i] = qr->data[i] & 1;  /* bit 0: dark */
    QRcode_free(qr);
    *modules = out;
    return width;
}
