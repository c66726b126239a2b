/*
 * tdi_dl: a shared library opened with dlopen() when a command first needs it.
 *
 * Linking a library maps it, and what it needs, into every tdi process at its start, and the
 * dynamic loader resolves its symbols there: `tdi validate` paid for libpq, GLPK and libxlsxwriter
 * (and the OpenSSL they bring), which it never calls (issue 16: no slower than xmllint, whose
 * start maps libxml2 alone). So those libraries are not linked. A forwarding file (tdi_pq.c,
 * disclosure/dc_glpk.c, report/rpt_xlsx.c) defines each of the library's functions that tdi
 * calls, under its own name, forwarding to the address looked up here; callers include the
 * library's header and call it as before, after the load function of their module said the
 * library is there.
 *
 * A forwarding file lists the functions with X macros, X(type, name, (parameters), (arguments))
 * and, for those returning nothing, X(name, (parameters), (arguments)); it expands them with
 * TDI_DL_POINTER (the addresses), TDI_DL_SLOT (the table tdi_dl_load fills) and TDI_DL_FORWARD
 * (the functions) or their VOID forms, TDI_DL_SELF naming its tdi_dl.
 */
#ifndef TDI_DL_H
#define TDI_DL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

typedef struct tdi_dl_slot {
    const char *name; /* the function's name in the library */
    void *address;    /* where its address goes: a function pointer of the forwarding file */
} tdi_dl_slot;

typedef struct tdi_dl {
    const char *library;      /* the soname: what the runtime package installs */
    const char *test_env;     /* the test build opens $test_env instead when it is set; or NULL */
    const tdi_dl_slot *slots; /* every function, each found or the load fails */
    size_t nslots;
    pthread_mutex_t lock;
    int tried;
    atomic_int loaded; /* 1 when every slot is set */
    char failure[512]; /* why the load failed: dlerror(), or the function missing */
} tdi_dl;

#define TDI_DL_INIT(library, test_env, slots)                                                      \
    {                                                                                              \
        (library), (test_env), (slots), sizeof(slots) / sizeof((slots)[0]),                        \
            PTHREAD_MUTEX_INITIALIZER, 0, 0,                                                       \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

/* Opens dl's library once a process (RTLD_LOCAL: its symbols never stand in for another's; kept
 * open to the end) and looks every slot up: 1 when that succeeded, now or before, else 0 and
 * dl->failure says why. Thread-safe. */
int tdi_dl_load(tdi_dl *dl);

/* The library's name as opened: dl->library, or the test build's override. */
const char *tdi_dl_library(const tdi_dl *dl);

/* A forwarded function called before its library was loaded: a bug; says which and aborts. */
_Noreturn void tdi_dl_unloaded(const tdi_dl *dl, const char *function);

#define TDI_DL_POINTER(type, name, params, args) static type(*p_##name) params;
#define TDI_DL_VOID_POINTER(name, params, args)  static void(*p_##name) params;
#define TDI_DL_SLOT(type, name, params, args)    {#name, &p_##name},
#define TDI_DL_VOID_SLOT(name, params, args)     {#name, &p_##name},
#define TDI_DL_FORWARD(type, name, params, args)                                                   \
    type name params                                                                               \
    {                                                                                              \
        if (!atomic_load(&(TDI_DL_SELF).loaded))                                                   \
            tdi_dl_unloaded(&(TDI_DL_SELF), #name);                                                \
        return p_##name args;                                                                      \
    }
#define TDI_DL_VOID_FORWARD(name, params, args)                                                    \
    void name params                                                                               \
    {                                                                                              \
        if (!atomic_load(&(TDI_DL_SELF).loaded))                                                   \
            tdi_dl_unloaded(&(TDI_DL_SELF), #name);                                                \
        p_##name args;                                                                             \
    }

#endif
