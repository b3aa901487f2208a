#ifndef CPWDIR_QR_H
#define CPWDIR_QR_H

/* The QR code of `text` (byte mode, error correction M, the smallest version): its width in
   modules, and in *modules width*width bytes, 1 for dark, 0 for light (free() them).
   -1 with errno set when it cannot be made (too long, no memory). */
int cpwdir_qr_encode(const char *text, unsigned char **modules);

#endif
