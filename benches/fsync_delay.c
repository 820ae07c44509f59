/* LD_PRELOAD shim for benches/cai.rs: every fsync and fdatasync first sleeps
 * FSYNC_DELAY_US microseconds (default 3000), as a slow flash disk would. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void pause_us(void) {
    const char *v = getenv("FSYNC_DELAY_US");
    long us = v ? atol(v) : 3000;
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) != 0) {
    }
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    pause_us();
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    pause_us();
    return real(fd);
}
