/* Group files: parsing, membership, listing, swapping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>

#include "groups.h"
#include "ts_err.h"

static ts_groups *
parse_ok(const char *text)
{
    ts_groups *g = NULL;
    char err[256] = "";

    if (ts_groups_parse(text, strlen(text), &g, err, sizeof(err)) != 0)
        fail_msg("parse failed: %s", err);
    assert_non_null(g);
    return g;
}

static int
member(const ts_groups *g, const char *user, const char *group)
{
    const char *list[] = { group, NULL };

    return ts_groups_member_any(g, user, list);
}

/* Collects ts_groups_each_user output as "a,b,c". */
typedef struct {
    char buf[1024];
} collect;

static void
collect_fn(void *ctx, const char *user)
{
    collect *c = ctx;

    if (c->buf[0])
        strcat(c->buf, ",");
    strcat(c->buf, user);
}

static const char *
users_of(const ts_groups *g, const char *const *list, collect *c)
{
    c->buf[0] = '\0';
    ts_groups_each_user(g, list, collect_fn, c);
    return c->buf;
}

static void
test_basic(void **state)
{
    ts_groups *g = parse_ok("staff: alice bob\nadmins: carol\n");
    const char *both[] = { "nobody", "admins", NULL };
    const char *none[] = { NULL };

    assert_true(member(g, "alice", "staff"));
    assert_true(member(g, "bob", "staff"));
    assert_false(member(g, "carol", "staff"));
    assert_true(member(g, "carol", "admins"));
    assert_false(member(g, "alice", "admins"));
    assert_false(member(g, "dave", "staff"));
    assert_false(member(g, "alice", "nosuchgroup"));
    assert_true(ts_groups_member_any(g, "carol", both));
    assert_false(ts_groups_member_any(g, "alice", both));
    assert_false(ts_groups_member_any(g, "alice", none));
    assert_false(ts_groups_member_any(g, "alice", NULL));
    /* exact, case-sensitive names: no prefix or substring matches */
    assert_false(member(g, "Alice", "staff"));
    assert_false(member(g, "alic", "staff"));
    assert_false(member(g, "alice", "Staff"));
    assert_false(member(g, "alice", "staf"));
    assert_false(member(g, "", "staff"));
    ts_groups_free(g);
}

static void
test_star(void **state)
{
    ts_groups *g = parse_ok("staff: alice\n");
    const char *star[] = { "*", NULL };
    const char *mixed[] = { "admins", "*", NULL };
    collect c;

    assert_true(ts_groups_member_any(g, "anyone", star));
    assert_true(ts_groups_member_any(g, "alice", mixed));
    assert_true(ts_groups_member_any(NULL, "anyone", star));
    assert_false(member(NULL, "alice", "staff"));
    assert_string_equal(users_of(g, star, &c), "alice");
    ts_groups_free(g);
    /* a user literally named "*" is just a name */
    g = parse_ok("g: *\n");
    assert_true(member(g, "*", "g"));
    assert_false(member(g, "alice", "g"));
    ts_groups_free(g);
}

static void
test_multiple_lines_same_group(void **state)
{
    ts_groups *g = parse_ok("staff: alice\nother: x\nstaff: bob carol\n"
                            "staff: alice\n");
    const char *staff[] = { "staff", NULL };
    collect c;

    assert_true(member(g, "alice", "staff"));
    assert_true(member(g, "bob", "staff"));
    assert_true(member(g, "carol", "staff"));
    assert_false(member(g, "x", "staff"));
    assert_string_equal(users_of(g, staff, &c), "alice,bob,carol");
    assert_string_equal(users_of(g, NULL, &c), "alice,x,bob,carol");
    ts_groups_free(g);
}

static void
test_spaces_tabs_comments(void **state)
{
    ts_groups *g = parse_ok(
        "# a comment: with colon\n"
        "   # indented comment\n"
        "\n"
        "  \t \n"
        "\tstaff\t:\talice\t\tbob  \r\n"
        "admins:carol\n"
        "empty:\n"
        "trailing: dave # not a comment here\n"
        "last: eve");            /* no final newline */
    const char *empty[] = { "empty", NULL };
    collect c;

    assert_true(member(g, "alice", "staff"));
    assert_true(member(g, "bob", "staff"));
    assert_true(member(g, "carol", "admins"));
    assert_true(member(g, "dave", "trailing"));
    assert_true(member(g, "#", "trailing"));   /* as Apache reads it */
    assert_true(member(g, "eve", "last"));
    assert_false(member(g, "bob\r", "staff"));
    assert_false(member(g, "", "staff"));
    assert_string_equal(users_of(g, empty, &c), "");
    ts_groups_free(g);
}

static void
test_users_in_several_groups(void **state)
{
    ts_groups *g = parse_ok("a: u1 u2\nb: u2 u3\nc: u3 u1\n");
    const char *ab[] = { "a", "b", NULL };
    const char *c_only[] = { "c", NULL };
    collect c;

    assert_true(member(g, "u1", "a"));
    assert_true(member(g, "u1", "c"));
    assert_false(member(g, "u1", "b"));
    assert_true(member(g, "u2", "a"));
    assert_true(member(g, "u2", "b"));
    assert_true(member(g, "u3", "b"));
    assert_true(member(g, "u3", "c"));
    assert_string_equal(users_of(g, ab, &c), "u1,u2,u3");
    assert_string_equal(users_of(g, c_only, &c), "u3,u1");
    ts_groups_free(g);
}

static void
test_long_lines_and_many_users(void **state)
{
    size_t cap = 2 * 1024 * 1024, o = 0;
    char *text = malloc(cap);
    ts_groups *g = NULL;
    char err[128];
    char name[32];
    int i;

    o += (size_t)snprintf(text + o, cap - o, "big:");
    for (i = 0; i < 50000; i++)
        o += (size_t)snprintf(text + o, cap - o, " user%d", i);
    o += (size_t)snprintf(text + o, cap - o, "\nsmall: user7 x\n");
    assert_int_equal(ts_groups_parse(text, o, &g, err, sizeof(err)), 0);
    for (i = 0; i < 50000; i += 4999) {
        snprintf(name, sizeof(name), "user%d", i);
        assert_true(member(g, name, "big"));
    }
    assert_false(member(g, "user50000", "big"));
    assert_true(member(g, "user7", "small"));
    assert_false(member(g, "user8", "small"));
    ts_groups_free(g);
    free(text);
}

static void
test_errors(void **state)
{
    static const struct { const char *text; const char *msg; } bad[] = {
        { "staff alice\n", "line 1:" },
        { "ok: a\n\nno colon here\n", "line 3:" },
        { ": alice\n", "line 1:" },
        { "   : alice\n", "line 1:" },
        { "two words: alice\n", "line 1:" },
    };
    ts_groups *g;
    char err[256];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        g = (ts_groups *)1;
        err[0] = '\0';
        assert_int_equal(ts_groups_parse(bad[i].text, strlen(bad[i].text),
                                         &g, err, sizeof(err)), TS_EINVAL);
        assert_null(g);
        if (strstr(err, bad[i].msg) == NULL)
            fail_msg("%s: message \"%s\"", bad[i].text, err);
    }
    /* a NUL byte is refused with its line */
    assert_int_equal(ts_groups_parse("a: b\nc: d\0e\n", 12, &g, err,
                                     sizeof(err)), TS_EINVAL);
    assert_non_null(strstr(err, "line 2"));
    /* n bounds the read */
    assert_int_equal(ts_groups_parse("a: b\nc: d\0e\n", 9, &g, err,
                                     sizeof(err)), 0);
    assert_true(member(g, "d", "c"));
    ts_groups_free(g);
    /* err may be NULL */
    assert_int_equal(ts_groups_parse("x", 1, &g, NULL, 0), TS_EINVAL);
    /* empty text: no groups */
    assert_int_equal(ts_groups_parse("", 0, &g, err, sizeof(err)), 0);
    assert_false(member(g, "a", "b"));
    ts_groups_free(g);
    ts_groups_free(NULL);
}

static void
test_every_byte(void **state)
{
    /* Each byte of a small file set to every value: parse or refuse, and
     * an accepted file still answers lookups. */
    const char *orig = "g1: a b\n#c\ng2:c\n";
    size_t n = strlen(orig), i;
    char buf[32], err[128];
    ts_groups *g;
    collect c;
    int b, rc;

    for (i = 0; i < n; i++)
        for (b = 0; b < 256; b++) {
            memcpy(buf, orig, n);
            buf[i] = (char)b;
            rc = ts_groups_parse(buf, n, &g, err, sizeof(err));
            if (rc != 0) {
                assert_int_equal(rc, TS_EINVAL);
                assert_null(g);
                continue;
            }
            (void)member(g, "a", "g1");
            users_of(g, NULL, &c);
            ts_groups_free(g);
        }
}

static void
test_load_and_swap(void **state)
{
    char path[] = "/tmp/ts_groups_XXXXXX";
    int fd = mkstemp(path);
    const char *text = "staff: alice\n";
    ts_groups *g, *g2;
    char err[256];

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(ts_groups_load(path, &g, err, sizeof(err)), 0);
    assert_true(member(g, "alice", "staff"));
    g2 = parse_ok("staff: bob\n");
    ts_groups_swap(g, g2);                 /* g2 is freed */
    assert_false(member(g, "alice", "staff"));
    assert_true(member(g, "bob", "staff"));
    ts_groups_free(g);
    unlink(path);
    assert_int_equal(ts_groups_load(path, &g, err, sizeof(err)), TS_EIO);
    assert_non_null(strstr(err, path));
    assert_int_equal(ts_groups_load("/", &g, err, sizeof(err)), TS_EIO);
}

typedef struct {
    ts_groups *g;
    int        bad;
} reader_arg;

/* Looks up while the main thread swaps: alice is in staff in every
 * version of the file, so every lookup must say yes. */
static void *
reader(void *p)
{
    reader_arg *r = p;
    collect c;
    int i;

    for (i = 0; i < 20000; i++) {
        if (!member(r->g, "alice", "staff"))
            __atomic_fetch_add(&r->bad, 1, __ATOMIC_RELAXED);
        if (i % 1000 == 0)
            users_of(r->g, NULL, &c);
    }
    return NULL;
}

static void
test_swap_under_readers(void **state)
{
    ts_groups *g = parse_ok("staff: alice\n");
    pthread_t th[3];
    reader_arg r = { g, 0 };
    int i;

    for (i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader, &r), 0);
    for (i = 0; i < 200; i++)
        ts_groups_swap(g, parse_ok(i % 2 ? "staff: alice bob\n"
                                         : "x: y\nstaff: carol alice\n"));
    for (i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(r.bad, 0);
    ts_groups_free(g);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_star),
        cmocka_unit_test(test_multiple_lines_same_group),
        cmocka_unit_test(test_spaces_tabs_comments),
        cmocka_unit_test(test_users_in_several_groups),
        cmocka_unit_test(test_long_lines_and_many_users),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_load_and_swap),
        cmocka_unit_test(test_swap_under_readers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
