/* memory.h — allocator settings for the long-running daemons.
 *
 * glibc's malloc gives each thread that allocates its own arena (up to 8 per core), and
 * raises its mmap threshold every time a large block is freed, after which large transient
 * buffers (a 1 MB FlowBatch, a gRPC message) are served from the arenas and stay resident.
 * The gRPC daemons have many threads that allocate per call, so both effects add megabytes
 * of memory that is held but idle; on an edge host that is the footprint that matters
 * (bench/spine_bench.sh, phase D: the agent's private memory went from 7.2 to 4.0 MB).
 * None of the daemons allocate on their hot paths, so fewer arenas cost nothing measurable.
 */
#ifndef NFX_LIB_BASE_MEMORY_H
#define NFX_LIB_BASE_MEMORY_H

/* Caps malloc arenas at 2 and fixes the mmap threshold at 256 KiB: a 1000-record batch
 * (~145 KB) and its gRPC message stay below it and are recycled within a call (at 128 KiB
 * each was mapped and unmapped, and page faults cost the checker a third more CPU per
 * record served); blocks above it (large batches) go back to the kernel when freed. Call
 * first thing in main(). Each setting is left alone when its glibc environment variable
 * (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_) is set, so an operator can still tune it. */
void nf_memory_tune(void);

/* Returns the free memory held in malloc's arenas to the kernel (malloc_trim). Call after a
 * burst of large transient allocations, e.g. at the end of a streaming call, not per
 * record: it walks every arena. */
void nf_memory_release(void);

#endif
