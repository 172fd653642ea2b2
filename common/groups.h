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
/* 1 when user belongs to any group of the NULL-terminated list (or the list
 * holds "*"), else 0. A NULL list means no group. */
int  ts_groups_member_any(const ts_groups *g, const char *user,
                          const char *const *list);
/* Calls fn for each distinct user of the listed groups (all groups when
 * list is NULL), in the file's order. */
void ts_groups_each_user(const ts_groups *g, const char *const *list,
                         void (*fn)(void *ctx, const char *user), void *ctx);

#endif
