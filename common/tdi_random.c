/* tdi_random: random bytes from the kernel; see tdi_random.h. */
#include "tdi_random.h"

#include "tdi_log.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

tdi_status tdi_random_bytes(const char *who, void *buf, size_t len)
{
    unsigned char *p = buf;
    size_t got = 0;

    while (got < len) {
        ssize_t n = getrandom(p + got, len - got, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            tdi_error("%s: no random bytes from the kernel (getrandom): %s", who,
                      n < 0 ? strerror(errno) : "none returned");
            explicit_bzero(buf, len);
            return TDI_ERR_INTERNAL;
        }
        got += (size_t)n;
    }
    return TDI_OK;
}
