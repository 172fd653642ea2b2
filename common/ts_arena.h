/* A bump allocator that frees everything at once.
 *
 * One request's decision (ts_txn) allocates every string, reply and page
 * from its arena and releases them together; connectors never free pieces. */
#ifndef TS_ARENA_H
#define TS_ARENA_H

#include <stddef.h>

typedef struct ts_arena_block ts_arena_block;
typedef struct {
    ts_arena_block *head;
} ts_arena;

void  ts_arena_init(ts_arena *a);
void  ts_arena_free(ts_arena *a);
/* 16-byte aligned, zeroed; NULL when out of memory. */
void *ts_arena_alloc(ts_arena *a, size_t n);
char *ts_arena_strndup(ts_arena *a, const char *s, size_t n);
char *ts_arena_strdup(ts_arena *a, const char *s);
char *ts_arena_printf(ts_arena *a, const char *fmt, ...)
      __attribute__((format(printf, 2, 3)));

#endif
