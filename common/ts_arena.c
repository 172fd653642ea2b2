/* Bump allocator: blocks of at least 8 KiB, freed together. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_arena.h"

struct ts_arena_block {
    ts_arena_block *next;
    size_t          used;
    size_t          size;
    _Alignas(16) unsigned char data[];
};

#define TS_ARENA_BLOCK 8192

void
ts_arena_init(ts_arena *a)
{
    a->head = NULL;
}

void
ts_arena_free(ts_arena *a)
{
    ts_arena_block *b = a->head, *next;

    while (b) {
        next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

void *
ts_arena_alloc(ts_arena *a, size_t n)
{
    ts_arena_block *b = a->head;
    size_t size;
    void *p;

    if (n > ((size_t)1 << 30))
        return NULL;
    n = (n + 15) & ~(size_t)15;
    if (b == NULL || b->size - b->used < n) {
        size = n > TS_ARENA_BLOCK ? n : TS_ARENA_BLOCK;
        b = malloc(sizeof(*b) + size);
        if (b == NULL)
            return NULL;
        b->used = 0;
        b->size = size;
        b->next = a->head;
        a->head = b;
    }
    p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *
ts_arena_strndup(ts_arena *a, const char *s, size_t n)
{
    char *p = ts_arena_alloc(a, n + 1);

    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
ts_arena_strdup(ts_arena *a, const char *s)
{
    return ts_arena_strndup(a, s, strlen(s));
}

char *
ts_arena_printf(ts_arena *a, const char *fmt, ...)
{
    va_list ap, cp;
    int n;
    char *p;

    va_start(ap, fmt);
    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0 || (p = ts_arena_alloc(a, (size_t)n + 1)) == NULL) {
        va_end(ap);
        return NULL;
    }
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
