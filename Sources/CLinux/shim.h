// Linux calls Glibc's Swift module does not offer (they need _GNU_SOURCE).
#ifndef DATAPORT_CLINUX_H
#define DATAPORT_CLINUX_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <unistd.h>

/// syncfs(2): writes out and waits for every dirty file of the file system `fd` is on.
static inline int dataport_syncfs(int fd) { return syncfs(fd); }
#endif
