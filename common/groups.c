/* Group files ("group: user user ..."), as Apache's AuthGroupFile reads them.
 *
 * The file is parsed once into interned names: every distinct group and user
 * gets a small id, the (group, user) pairs keep the file's order, and each
 * user has the list of its groups, so a membership check is one hash lookup
 * and a scan of that user's few groups. The data sits behind a read-write
 * lock so that a changed file can be swapped in while other threads look up. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "groups.h"
#include "ts_err.h"
#include "ts_text.h"

#define TS_GROUPS_FILE_MAX (16 * 1024 * 1024)

/* Interned names: id -> name, and an open-addressing hash name -> id + 1. */
typedef struct {
    char     **name;
    size_t     n, cap;
    uint32_t  *slot;      /* 0 = empty, else id + 1 */
    size_t     nslots;    /* power of two, > 2 * n */
} names;

typedef struct {
    uint32_t gid, uid;
} pair;

typedef struct {
    names     groups;
    names     users;
    pair     *pairs;      /* file order */
    size_t    npairs, cap;
    uint32_t *ustart;     /* user u's groups: ugid[ustart[u] .. ustart[u+1]) */
    uint32_t *ugid;
} gdata;

struct ts_groups {
    pthread_rwlock_t lock;
    gdata           *d;
};

/* FNV-1a: names are short and not chosen to collide by anyone but the
 * administrator who writes the file. */
static uint32_t
hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* The slot holding name s, or the empty slot where it would go. */
static size_t
names_slot(const names *t, const char *s, size_t n)
{
    size_t mask = t->nslots - 1, i = hash(s, n) & mask;
    uint32_t v;

    while ((v = t->slot[i]) != 0) {
        const char *k = t->name[v - 1];

        if (strncmp(k, s, n) == 0 && k[n] == '\0')
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

static int
names_grow(names *t)
{
    size_t ns = t->nslots ? t->nslots * 2 : 64, i, j;
    uint32_t *slot = calloc(ns, sizeof(*slot));
    names nt = *t;

    if (slot == NULL)
        return TS_ENOMEM;
    nt.slot = slot;
    nt.nslots = ns;
    for (i = 0; i < t->n; i++) {
        j = names_slot(&nt, t->name[i], strlen(t->name[i]));
        slot[j] = (uint32_t)(i + 1);
    }
    free(t->slot);
    t->slot = slot;
    t->nslots = ns;
    return TS_OK;
}

/* The id of name s (n bytes), adding it when new. */
static int
names_intern(names *t, const char *s, size_t n, uint32_t *id)
{
    size_t i;
    char **nv, *copy;

    if (t->n >= UINT32_MAX - 1)
        return TS_ETOOBIG;
    if ((t->n + 1) * 2 >= t->nslots && names_grow(t) != TS_OK)
        return TS_ENOMEM;
    i = names_slot(t, s, n);
    if (t->slot[i] != 0) {
        *id = t->slot[i] - 1;
        return TS_OK;
    }
    if (t->n == t->cap) {
        nv = realloc(t->name, (t->cap ? t->cap * 2 : 16) * sizeof(*nv));
        if (nv == NULL)
            return TS_ENOMEM;
        t->name = nv;
        t->cap = t->cap ? t->cap * 2 : 16;
    }
    copy = strndup(s, n);
    if (copy == NULL)
        return TS_ENOMEM;
    t->name[t->n] = copy;
    t->slot[i] = (uint32_t)(t->n + 1);
    *id = (uint32_t)t->n++;
    return TS_OK;
}

/* The id of name s, or -1. */
static long
names_find(const names *t, const char *s)
{
    size_t i;

    if (t->nslots == 0)
        return -1;
    i = names_slot(t, s, strlen(s));
    return t->slot[i] ? (long)t->slot[i] - 1 : -1;
}

static void
names_free(names *t)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        free(t->name[i]);
    free(t->name);
    free(t->slot);
}

static void
gdata_free(gdata *d)
{
    if (d == NULL)
        return;
    names_free(&d->groups);
    names_free(&d->users);
    free(d->pairs);
    free(d->ustart);
    free(d->ugid);
    free(d);
}

static int
add_pair(gdata *d, uint32_t gid, const char *user, size_t n)
{
    uint32_t uid;
    pair *np;
    int rc;

    if ((rc = names_intern(&d->users, user, n, &uid)) != TS_OK)
        return rc;
    if (d->npairs == d->cap) {
        np = realloc(d->pairs, (d->cap ? d->cap * 2 : 64) * sizeof(*np));
        if (np == NULL)
            return TS_ENOMEM;
        d->pairs = np;
        d->cap = d->cap ? d->cap * 2 : 64;
    }
    d->pairs[d->npairs].gid = gid;
    d->pairs[d->npairs].uid = uid;
    d->npairs++;
    return TS_OK;
}

/* Builds each user's list of groups (compressed rows) from the pairs. */
static int
index_users(gdata *d)
{
    size_t u, i, nu = d->users.n;
    uint32_t *fill;

    d->ustart = calloc(nu + 1, sizeof(*d->ustart));
    d->ugid = malloc((d->npairs ? d->npairs : 1) * sizeof(*d->ugid));
    fill = calloc(nu + 1, sizeof(*fill));
    if (d->ustart == NULL || d->ugid == NULL || fill == NULL) {
        free(fill);
        return TS_ENOMEM;
    }
    for (i = 0; i < d->npairs; i++)
        d->ustart[d->pairs[i].uid + 1]++;
    for (u = 0; u < nu; u++)
        d->ustart[u + 1] += d->ustart[u];
    for (i = 0; i < d->npairs; i++) {
        u = d->pairs[i].uid;
        d->ugid[d->ustart[u] + fill[u]++] = d->pairs[i].gid;
    }
    free(fill);
    return TS_OK;
}

static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* One line (without its '\n'). */
static int
parse_line(gdata *d, const char *p, size_t n, size_t lineno, char *err,
           size_t errlen)
{
    const char *colon, *e = p + n;
    size_t glen, i;
    uint32_t gid;
    int rc;

    while (p < e && is_space(*p))
        p++;
    if (p == e || *p == '#')
        return TS_OK;
    colon = memchr(p, ':', (size_t)(e - p));
    glen = colon ? (size_t)(colon - p) : 0;
    while (glen > 0 && is_space(p[glen - 1]))
        glen--;
    for (i = 0; i < glen && !is_space(p[i]); i++)
        ;
    if (colon == NULL || glen == 0 || i < glen) {
        ts_seterr(err, errlen, "line %zu: expected \"group: user user ...\"",
               lineno);
        return TS_EINVAL;
    }
    if ((rc = names_intern(&d->groups, p, glen, &gid)) != TS_OK)
        return rc;
    for (p = colon + 1; p < e; p += i) {
        while (p < e && is_space(*p))
            p++;
        for (i = 0; p + i < e && !is_space(p[i]); i++)
            ;
        if (i > 0 && (rc = add_pair(d, gid, p, i)) != TS_OK)
            return rc;
    }
    return TS_OK;
}

static int
parse_text(gdata *d, const char *text, size_t n, char *err, size_t errlen)
{
    size_t i = 0, len, lineno = 1;
    const char *nl;
    int rc;

    if (n > 0 && memchr(text, '\0', n) != NULL) {
        nl = memchr(text, '\0', n);
        for (i = 0; text + i < nl; i++)
            lineno += text[i] == '\n';
        ts_seterr(err, errlen, "line %zu: NUL byte", lineno);
        return TS_EINVAL;
    }
    for (i = 0; i < n; i += len + 1, lineno++) {
        nl = memchr(text + i, '\n', n - i);
        len = nl ? (size_t)(nl - (text + i)) : n - i;
        rc = parse_line(d, text + i, len, lineno, err, errlen);
        if (rc != TS_OK) {
            if (rc == TS_ENOMEM)
                ts_seterr(err, errlen, "out of memory");
            return rc;
        }
    }
    return index_users(d);
}

int
ts_groups_parse(const char *text, size_t n, ts_groups **out, char *err,
                size_t errlen)
{
    ts_groups *g;
    gdata *d;
    int rc;

    *out = NULL;
    if (text == NULL && n > 0)
        return TS_EINVAL;
    if (n > TS_GROUPS_FILE_MAX) {
        ts_seterr(err, errlen, "larger than %d bytes", TS_GROUPS_FILE_MAX);
        return TS_ETOOBIG;
    }
    d = calloc(1, sizeof(*d));
    g = calloc(1, sizeof(*g));
    if (d == NULL || g == NULL) {
        free(d);
        free(g);
        ts_seterr(err, errlen, "out of memory");
        return TS_ENOMEM;
    }
    rc = parse_text(d, text, n, err, errlen);
    if (rc == TS_OK && pthread_rwlock_init(&g->lock, NULL) != 0)
        rc = TS_ENOMEM;
    if (rc != TS_OK) {
        gdata_free(d);
        free(g);
        return rc;
    }
    g->d = d;
    *out = g;
    return TS_OK;
}

/* Reads a whole regular file of at most TS_GROUPS_FILE_MAX bytes. */
static int
read_file(const char *path, char **text, size_t *n, char *err, size_t errlen)
{
    struct stat st;
    size_t got = 0;
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        ts_seterr(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return TS_EIO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ts_seterr(err, errlen, "%s is not a regular file", path);
        close(fd);
        return TS_EIO;
    }
    if (st.st_size > TS_GROUPS_FILE_MAX) {
        ts_seterr(err, errlen, "%s is larger than %d bytes", path,
               TS_GROUPS_FILE_MAX);
        close(fd);
        return TS_ETOOBIG;
    }
    *text = malloc((size_t)st.st_size + 1);
    if (*text == NULL) {
        close(fd);
        return TS_ENOMEM;
    }
    /* Read to the size seen by fstat; a file growing meanwhile is cut
     * there and re-read at the next change check. */
    while (got < (size_t)st.st_size &&
           (r = read(fd, *text + got, (size_t)st.st_size - got)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            ts_seterr(err, errlen, "cannot read %s: %s", path, strerror(errno));
            free(*text);
            close(fd);
            return TS_EIO;
        }
        got += (size_t)r;
    }
    close(fd);
    *n = got;
    return TS_OK;
}

int
ts_groups_load(const char *path, ts_groups **out, char *err, size_t errlen)
{
    char *text = NULL, e2[256];
    size_t n = 0;
    int rc;

    *out = NULL;
    if (path == NULL)
        return TS_EINVAL;
    rc = read_file(path, &text, &n, err, errlen);
    if (rc != TS_OK)
        return rc;
    e2[0] = '\0';
    rc = ts_groups_parse(text, n, out, e2, sizeof(e2));
    free(text);
    if (rc != TS_OK)
        ts_seterr(err, errlen, "%s: %s", path, e2);
    return rc;
}

void
ts_groups_free(ts_groups *g)
{
    if (g == NULL)
        return;
    gdata_free(g->d);
    pthread_rwlock_destroy(&g->lock);
    free(g);
}

void
ts_groups_swap(ts_groups *dst, ts_groups *src)
{
    gdata *old;

    if (dst == NULL || src == NULL || dst == src)
        return;
    pthread_rwlock_wrlock(&dst->lock);
    old = dst->d;
    dst->d = src->d;
    pthread_rwlock_unlock(&dst->lock);
    src->d = old;
    ts_groups_free(src);
}

static int
list_has(const char *const *list, const char *name)
{
    size_t i;

    for (i = 0; list[i] != NULL; i++)
        if (strcmp(list[i], name) == 0)
            return 1;
    return 0;
}

int
ts_groups_member_any(const ts_groups *g, const char *user,
                     const char *const *list)
{
    ts_groups *mg = (ts_groups *)g;   /* the lock is not part of the value */
    const gdata *d;
    long uid;
    size_t i;
    int found = 0;

    if (list == NULL)
        return 0;
    if (list_has(list, "*"))
        return 1;
    if (g == NULL || user == NULL)
        return 0;
    pthread_rwlock_rdlock(&mg->lock);
    d = mg->d;
    uid = names_find(&d->users, user);
    for (i = uid < 0 ? 0 : d->ustart[uid];
         uid >= 0 && i < d->ustart[uid + 1] && !found; i++)
        found = list_has(list, d->groups.name[d->ugid[i]]);
    pthread_rwlock_unlock(&mg->lock);
    return found;
}

/* Which groups the list names, as a byte per group id. */
static unsigned char *
wanted_groups(const gdata *d, const char *const *list)
{
    unsigned char *w = calloc(d->groups.n + 1, 1);
    int all = list == NULL || list_has(list, "*");
    size_t i;

    if (w == NULL)
        return NULL;
    for (i = 0; i < d->groups.n; i++)
        w[i] = all || list_has(list, d->groups.name[i]);
    return w;
}

void
ts_groups_each_user(const ts_groups *g, const char *const *list,
                    void (*fn)(void *ctx, const char *user), void *ctx)
{
    ts_groups *mg = (ts_groups *)g;
    unsigned char *want, *seen;
    const gdata *d;
    size_t i;

    if (g == NULL || fn == NULL)
        return;
    pthread_rwlock_rdlock(&mg->lock);
    d = mg->d;
    want = wanted_groups(d, list);
    seen = calloc(d->users.n + 1, 1);
    for (i = 0; want && seen && i < d->npairs; i++) {
        const pair *p = &d->pairs[i];

        if (want[p->gid] && !seen[p->uid]) {
            seen[p->uid] = 1;
            fn(ctx, d->users.name[p->uid]);
        }
    }
    free(want);
    free(seen);
    pthread_rwlock_unlock(&mg->lock);
}
