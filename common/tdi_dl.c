/* tdi_dl: a shared library opened when a command first needs it; see tdi_dl.h. */
#include "tdi_dl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tdi_dl_library(const tdi_dl *dl)
{
#ifdef TDI_TEST_HOOKS
    const char *name = dl->test_env ? getenv(dl->test_env) : NULL;

    if (name && *name)
        return name;
#endif
    return dl->library;
}

static void open_library(tdi_dl *dl)
{
    void *lib = dlopen(tdi_dl_library(dl), RTLD_NOW | RTLD_LOCAL);
    const char *err;

    if (!lib) {
        err = dlerror();
        snprintf(dl->failure, sizeof dl->failure, "%s", err ? err : "dlopen failed");
        return;
    }
    for (size_t i = 0; i < dl->nslots; i++) {
        void *sym = dlsym(lib, dl->slots[i].name);

        if (!sym) {
            snprintf(dl->failure, sizeof dl->failure, "it has no %s", dl->slots[i].name);
            dlclose(lib);
            return;
        }
        /* POSIX guarantees dlsym's object pointer holds the function's address. */
        memcpy(dl->slots[i].address, &sym, sizeof sym);
    }
    atomic_store(&dl->loaded, 1);
}

int tdi_dl_load(tdi_dl *dl)
{
    if (atomic_load(&dl->loaded))
        return 1;
    pthread_mutex_lock(&dl->lock);
    if (!dl->tried) {
        dl->tried = 1;
        open_library(dl);
    }
    pthread_mutex_unlock(&dl->lock);
    return atomic_load(&dl->loaded);
}

void tdi_dl_unloaded(const tdi_dl *dl, const char *function)
{
    fprintf(stderr, "tdi: internal error: %s called before %s was loaded\n", function,
            tdi_dl_library(dl));
    abort();
}
