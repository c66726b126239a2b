/* Shared by unit tests of what happens once a process (a library loaded when first needed,
 * common/tdi_dl.h): whether a library is mapped, and a case run in a child process. */
#ifndef TEST_CHILD_H
#define TEST_CHILD_H

#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

/* 1 when the library soname is mapped into this process, without loading it. */
static inline int test_mapped(const char *soname)
{
    void *lib = dlopen(soname, RTLD_LAZY | RTLD_NOLOAD);

    if (!lib)
        return 0;
    dlclose(lib);
    return 1;
}

/* Runs child() in a child process and asserts it exited 0 (its pass). */
static inline void test_in_child(int (*child)(void))
{
    int status = -1;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child());
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

#endif
