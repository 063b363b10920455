/* memory.c — see memory.h. */
#include "memory.h"

#include <malloc.h>
#include <stdlib.h>

#define ARENA_MAX 2
#define MMAP_THRESHOLD (256 * 1024)

void
nf_memory_tune(void)
{
    if (getenv("MALLOC_ARENA_MAX") == NULL)
        mallopt(M_ARENA_MAX, ARENA_MAX);
    /* Setting the threshold also turns off glibc's dynamic adjustment of it. */
    if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL)
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
}

void
nf_memory_release(void)
{
    malloc_trim(0);
}
