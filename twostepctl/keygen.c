/* twostepctl keygen: a new key line, a new key file, or a rotation.
 *
 * Files are written whole and then renamed (rotation) or created with
 * O_EXCL (a new file), so a web server reloading at the wrong moment never
 * reads half a key file, and an existing key file is never clobbered. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "keys.h"
#include "ts_buf.h"
#include "twostepctl.h"

#define KEYFILE_MAX (64 * 1024)

static int
fail(const char *what, const char *path)
{
    fprintf(stderr, "twostepctl: %s %s: %s\n", what, path, strerror(errno));
    return 2;
}

static int
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int
new_file(const char *path, const char *line)
{
    static const char head[] =
        "# twostep key file (twostepctl keygen). Keep it secret: readable by\n"
        "# the web servers only. The first key signs; all keys verify.\n";
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

    if (fd < 0) {
        if (errno == EEXIST) {
            fprintf(stderr, "twostepctl: %s exists and is not overwritten "
                    "(twostepctl keygen --rotate %s adds a key to it)\n",
                    path, path);
            return 1;
        }
        return fail("cannot create", path);
    }
    if (fchmod(fd, 0600) != 0 || write_all(fd, head, sizeof(head) - 1) != 0
        || write_all(fd, line, strlen(line)) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        errno = e;
        return fail("cannot write", path);
    }
    if (close(fd) != 0)
        return fail("cannot write", path);
    printf("wrote a new key file %s (mode 0600)\n", path);
    return 0;
}

/* Reads a whole (small) file into b. */
static int
read_file(const char *path, ts_buf *b, struct stat *st)
{
    char chunk[4096];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, st) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    while ((n = read(fd, chunk, sizeof(chunk))) > 0 && b->len < KEYFILE_MAX)
        ts_buf_put(b, chunk, (size_t)n);
    close(fd);
    if (n < 0 || b->oom)
        return -1;
    if (b->len >= KEYFILE_MAX) {
        errno = EFBIG;
        return -1;
    }
    return 0;
}

/* Old text with the new key line before the first key line (after the
 * leading comments), so the new key signs and the old ones still verify. */
static int
put_first_key(const char *old, size_t n, const char *line, ts_buf *out)
{
    size_t at = 0, end;

    while (at < n) {
        const char *nl = memchr(old + at, '\n', n - at);
        size_t content;

        end = nl ? (size_t)(nl - old) + 1 : n;
        content = end - at - (nl != NULL);
        /* strspn stops at the '\n': a blank line is all white space. */
        if (old[at] != '#' && strspn(old + at, " \t\r") < content)
            break;
        at = end;
    }
    ts_buf_put(out, old, at);
    ts_buf_puts(out, line);
    ts_buf_put(out, old + at, n - at);
    if (n > 0 && old[n - 1] != '\n')
        ts_buf_putc(out, '\n');
    return out->oom ? -1 : 0;
}

static int
replace_file(const char *path, const ts_buf *text, const struct stat *st)
{
    char tmp[4096];
    int fd;

    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return fail("cannot write", path);
    }
    fd = mkstemp(tmp);
    if (fd < 0)
        return fail("cannot write next to", path);
    /* Same owner and mode as before: the web servers' group may read it. */
    if (fchmod(fd, st->st_mode & 0770) != 0
        || (fchown(fd, st->st_uid, st->st_gid) != 0 && errno != EPERM)
        || write_all(fd, text->data, text->len) != 0 || fsync(fd) != 0
        || close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return fail("cannot write", path);
    }
    return 0;
}

static int
rotate(const char *path, const char *line)
{
    ts_buf old, next;
    ts_keyring kr;
    struct stat st;
    char err[256];
    int rc = 1;

    memset(&kr, 0, sizeof(kr));
    ts_buf_init(&old);
    ts_buf_init(&next);
    if (ts_keyring_load(path, &kr, err, sizeof(err)) != 0) {
        fprintf(stderr, "twostepctl: %s: %s; not rotated\n", path, err);
        goto out;
    }
    if (kr.n >= TS_KEYRING_MAX) {
        fprintf(stderr, "twostepctl: %s already holds %d keys; remove the "
                "oldest line first\n", path, TS_KEYRING_MAX);
        goto out;
    }
    if (read_file(path, &old, &st) != 0) {
        rc = fail("cannot read", path);
        goto out;
    }
    if (put_first_key(ts_buf_str(&old), old.len, line, &next) != 0
        || ts_keyring_parse(next.data, next.len, &kr, err, sizeof(err)) != 0) {
        fprintf(stderr, "twostepctl: %s: the rotated file would not load "
                "(%s); not rotated\n", path, next.oom ? "out of memory" : err);
        goto out;
    }
    rc = replace_file(path, &next, &st);
    if (rc == 0)
        printf("added key %.*s to %s (it signs from the next reload; %zu "
               "keys)\n", (int)strcspn(line, ":"), line, path, kr.n);
out:
    ts_keyring_clear(&kr);
    memset(old.data ? old.data : err, 0, old.data ? old.len : 0);
    memset(next.data ? next.data : err, 0, next.data ? next.len : 0);
    ts_buf_free(&old);
    ts_buf_free(&next);
    return rc;
}

int
ctl_keygen(const ctl_cmd *c, const ctl_opts *o)
{
    ts_buf line;
    int rc;

    if (o->out != NULL && o->rotate != NULL)
        return ctl_usage_error(c->name, "give --out or --rotate, not both");
    if ((o->out != NULL && o->out[0] == '\0')
        || (o->rotate != NULL && o->rotate[0] == '\0'))
        return ctl_usage_error(c->name, "the file name is empty");
    ts_buf_init(&line);
    if (ts_keygen_line(&line) != 0) {
        fprintf(stderr, "twostepctl: cannot make a key (no randomness?)\n");
        ts_buf_free(&line);
        return 2;
    }
    if (o->out != NULL)
        rc = new_file(o->out, ts_buf_str(&line));
    else if (o->rotate != NULL)
        rc = rotate(o->rotate, ts_buf_str(&line));
    else
        rc = fputs(ts_buf_str(&line), stdout) == EOF ? 2 : 0;
    memset(line.data, 0, line.len);
    ts_buf_free(&line);
    return rc;
}
