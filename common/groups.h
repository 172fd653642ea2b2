/* Group files in Apache's AuthGroupFile format: "group: user user ...",
 * one group per line, '#' comments, a group may span several lines with the
 * same name (members accumulate). */
#ifndef TS_GROUPS_H
#define TS_GROUPS_H

#include <stddef.h>
#include "config.h"

int  ts_groups_parse(const char *text, size_t n, ts_groups **out,
                     char *err, size_t errlen);
int  ts_groups_load(const char *path, ts_groups **out, char *err,
                    size_t errlen);
void ts_groups_free(ts_groups *g);
/* Moves the contents of src into dst and frees src and dst's old contents.
 * dst keeps its address, so every config pointing at it sees the new file.
 * The lookups below take a read lock and this a write lock, so a group file
 * can be re-read (ts_config_groups_refresh) while other threads look up. */
void ts_groups_swap(ts_groups *dst, ts_groups *src);
/* 1 when user belongs to any group of the NULL-terminated list (or the list
 * holds "*"), else 0. A NULL list means no group. */
int  ts_groups_member_any(const ts_groups *g, const char *user,
                          const char *const *list);
/* Calls fn for each distinct user of the listed groups (all groups when
 * list is NULL or holds "*"), in the file's order. fn runs under the read
 * lock: it must not call ts_groups_swap. */
void ts_groups_each_user(const ts_groups *g, const char *const *list,
                         void (*fn)(void *ctx, const char *user), void *ctx);

#endif
