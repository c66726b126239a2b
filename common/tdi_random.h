/*
 * tdi_random: secret random bytes (a new master key, a sealed file's key), from the kernel's
 * generator through getrandom(2): the source OpenSSL's and nettle's own generators seed from,
 * without a generator of tdi's in between. It waits until the kernel's pool is initialised
 * (early at boot), never after.
 */
#ifndef TDI_RANDOM_H
#define TDI_RANDOM_H

#include "tdi_status.h"

#include <stddef.h>

/* Fills buf with len random bytes. On failure logs "WHO: no random bytes from the kernel
 * (getrandom): REASON", wipes buf and returns TDI_ERR_INTERNAL. */
tdi_status tdi_random_bytes(const char *who, void *buf, size_t len);

#endif
