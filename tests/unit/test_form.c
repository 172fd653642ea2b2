/* Form, query string and Cookie header parsing, with hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "form.h"
#include "ts_err.h"

static int
parse(const char *s, ts_arena *a, ts_form *f)
{
    return ts_form_parse(s, strlen(s), a, f);
}

static const char *
val(const ts_form *f, const char *name)
{
    const ts_field *x = ts_form_get(f, name);

    return x ? x->value : NULL;
}

static void
test_form_basic(void **state)
{
    ts_arena a;
    ts_form f;

    ts_arena_init(&a);
    assert_int_equal(parse("code=123456&trust=1&csrf=abc&r=%2Flab%2F", &a, &f), 0);
    assert_int_equal(f.n, 4);
    assert_string_equal(val(&f, "code"), "123456");
    assert_string_equal(val(&f, "trust"), "1");
    assert_string_equal(val(&f, "csrf"), "abc");
    assert_string_equal(val(&f, "r"), "/lab/");
    assert_int_equal(ts_form_get(&f, "r")->value_len, 5);
    assert_null(ts_form_get(&f, "missing"));
    assert_null(ts_form_get(&f, "cod"));
    assert_null(ts_form_get(&f, "code "));
    ts_arena_free(&a);
}

static void
test_form_plus_and_escapes(void **state)
{
    ts_arena a;
    ts_form f;

    ts_arena_init(&a);
    assert_int_equal(parse("a=x+y%21&b=%2B&c=%2b%41&d+e=1&f=%C3%A9", &a, &f), 0);
    assert_string_equal(val(&f, "a"), "x y!");
    assert_string_equal(val(&f, "b"), "+");
    assert_string_equal(val(&f, "c"), "+A");
    assert_string_equal(val(&f, "d e"), "1");
    assert_string_equal(val(&f, "f"), "\xc3\xa9");
    ts_arena_free(&a);
}

static void
test_form_empty_pieces(void **state)
{
    ts_arena a;
    ts_form f;

    ts_arena_init(&a);
    assert_int_equal(parse("", &a, &f), 0);
    assert_int_equal(f.n, 0);
    assert_int_equal(parse("&&&", &a, &f), 0);
    assert_int_equal(f.n, 0);
    assert_int_equal(parse("&a=1&&b=2&", &a, &f), 0);
    assert_int_equal(f.n, 2);
    assert_string_equal(val(&f, "a"), "1");
    assert_string_equal(val(&f, "b"), "2");
    /* name without '=' has value ""; "=" alone is an empty name */
    assert_int_equal(parse("trust&code=&=x", &a, &f), 0);
    assert_int_equal(f.n, 3);
    assert_string_equal(val(&f, "trust"), "");
    assert_int_equal(ts_form_get(&f, "trust")->value_len, 0);
    assert_string_equal(val(&f, "code"), "");
    assert_string_equal(val(&f, ""), "x");
    /* '=' inside a value stays */
    assert_int_equal(parse("r=/a?b=c", &a, &f), 0);
    assert_string_equal(val(&f, "r"), "/a?b=c");
    assert_int_equal(ts_form_parse(NULL, 0, &a, &f), 0);
    assert_int_equal(f.n, 0);
    ts_arena_free(&a);
}

static void
test_form_duplicates(void **state)
{
    ts_arena a;
    ts_form f;

    ts_arena_init(&a);
    assert_int_equal(parse("code=1&code=2&Code=3", &a, &f), 0);
    assert_int_equal(f.n, 3);
    assert_string_equal(val(&f, "code"), "1");
    assert_string_equal(val(&f, "Code"), "3");
    ts_arena_free(&a);
}

static void
test_form_bad_escapes(void **state)
{
    static const char *bad[] = {
        "a=%", "a=%4", "a=%zz", "a=%4g", "a=%g4", "a=1%", "%=1", "a%2=1",
        "a=%00", "a%00=1", "a=x%00y", "ok=1&a=%", "a=%%41", "a=% 41",
        "a=%-1", "a=%+1",
    };
    ts_arena a;
    ts_form f;
    size_t i;

    ts_arena_init(&a);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        f.n = 99;
        assert_int_equal(parse(bad[i], &a, &f), TS_EINVAL);
        assert_int_equal(f.n, 0);   /* nothing half-parsed is handed out */
    }
    ts_arena_free(&a);
}

static void
test_form_raw_nul(void **state)
{
    static const char s[] = "a=1\0b&c=2";
    ts_arena a;
    ts_form f;

    ts_arena_init(&a);
    assert_int_equal(ts_form_parse(s, sizeof(s) - 1, &a, &f), TS_EINVAL);
    /* the same bytes cut before the NUL are fine */
    assert_int_equal(ts_form_parse(s, 3, &a, &f), 0);
    assert_string_equal(val(&f, "a"), "1");
    ts_arena_free(&a);
}

static void
test_form_truncation(void **state)
{
    /* Every prefix of a valid form parses or is refused cleanly, and never
     * reads past n (ASan would see it: the copy is exactly n bytes). */
    const char *full = "code=123456&trust=1&csrf=a%2Bb&r=%2Flab%2Fx%3Fy%3D1";
    size_t n = strlen(full), i;
    ts_arena a;
    ts_form f;
    int rc;

    ts_arena_init(&a);
    for (i = 0; i <= n; i++) {
        char *copy = malloc(i ? i : 1);

        memcpy(copy, full, i);
        rc = ts_form_parse(copy, i, &a, &f);
        assert_true(rc == 0 || rc == TS_EINVAL);
        if (rc == TS_EINVAL) {
            /* only a cut inside an escape is refused */
            assert_true(memchr(full + (i >= 2 ? i - 2 : 0), '%',
                               i >= 2 ? 2 : i) != NULL);
        }
        free(copy);
    }
    ts_arena_free(&a);
}

static void
test_form_many_fields(void **state)
{
    char buf[2048];
    size_t o = 0;
    int i;
    ts_arena a;
    ts_form f;

    ts_arena_init(&a);
    for (i = 0; i < TS_FORM_MAX_FIELDS; i++)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "f%d=%d&", i, i);
    assert_int_equal(ts_form_parse(buf, o, &a, &f), 0);
    assert_int_equal(f.n, TS_FORM_MAX_FIELDS);
    assert_string_equal(val(&f, "f63"), "63");
    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "one=more");
    assert_int_equal(ts_form_parse(buf, o, &a, &f), TS_EINVAL);
    assert_int_equal(f.n, 0);
    ts_arena_free(&a);
}

static void
test_form_huge(void **state)
{
    size_t n = TS_FORM_MAX_BYTES;
    char *big = malloc(n + 1);
    ts_arena a;
    ts_form f;

    ts_arena_init(&a);
    memset(big, 'x', n + 1);
    memcpy(big, "code=", 5);
    assert_int_equal(ts_form_parse(big, n, &a, &f), 0);
    assert_int_equal(ts_form_get(&f, "code")->value_len, n - 5);
    assert_int_equal(ts_form_parse(big, n + 1, &a, &f), TS_ETOOBIG);
    assert_int_equal(f.n, 0);
    assert_int_equal(ts_form_parse(big, (size_t)-1, &a, &f), TS_ETOOBIG);
    free(big);
    ts_arena_free(&a);
}

static void
test_form_every_byte(void **state)
{
    /* Flip each byte of a valid form to every value: no crash, and any
     * accepted result has NUL-free fields whose lengths agree. */
    const char *orig = "code=12%2034&r=%2Fx";
    size_t n = strlen(orig), i, k;
    int b, rc;
    char buf[32];
    ts_arena a;
    ts_form f;

    for (i = 0; i < n; i++)
        for (b = 0; b < 256; b++) {
            memcpy(buf, orig, n);
            buf[i] = (char)b;
            ts_arena_init(&a);
            rc = ts_form_parse(buf, n, &a, &f);
            if (b == 0)
                assert_int_equal(rc, TS_EINVAL);
            if (rc == 0)
                for (k = 0; k < f.n; k++) {
                    assert_int_equal(strlen(f.f[k].name), f.f[k].name_len);
                    assert_int_equal(strlen(f.f[k].value), f.f[k].value_len);
                }
            else
                assert_int_equal(rc, TS_EINVAL);
            ts_arena_free(&a);
        }
}

static void
test_url_decode(void **state)
{
    ts_arena a;
    size_t n = 99;
    char *s;

    ts_arena_init(&a);
    s = ts_url_decode(&a, "a+b%20c%2f", 10, &n);
    assert_non_null(s);
    assert_string_equal(s, "a+b c/");    /* no '+' rule here */
    assert_int_equal(n, 6);
    s = ts_url_decode(&a, "", 0, &n);
    assert_non_null(s);
    assert_int_equal(n, 0);
    assert_null(ts_url_decode(&a, "%", 1, &n));
    assert_null(ts_url_decode(&a, "%4", 2, &n));
    assert_null(ts_url_decode(&a, "%4x", 3, &n));
    assert_null(ts_url_decode(&a, "%00", 3, &n));
    assert_null(ts_url_decode(&a, "a\0b", 3, &n));
    /* n bounds the read: "%41" cut to "%4" is bad */
    assert_null(ts_url_decode(&a, "%41", 2, &n));
    s = ts_url_decode(&a, "%41%42", 3, NULL);
    assert_string_equal(s, "A");
    ts_arena_free(&a);
}

/* ---- Cookie header ---- */

static int
cget(const char *hdr, const char *name, char *out, size_t cap)
{
    const char *v = NULL;
    size_t vl = 0;
    int rc = ts_cookie_header_get(hdr, strlen(hdr), name, &v, &vl);

    if (rc == 0) {
        assert_true(vl < cap);
        assert_true(v >= hdr && v + vl <= hdr + strlen(hdr));
        memcpy(out, v, vl);
        out[vl] = '\0';
    }
    return rc;
}

static void
test_cookie_basic(void **state)
{
    char v[256];

    assert_int_equal(cget("twostep=abc", "twostep", v, sizeof(v)), 0);
    assert_string_equal(v, "abc");
    assert_int_equal(cget("a=1; twostep=x.y-z_; b=2", "twostep", v, sizeof(v)), 0);
    assert_string_equal(v, "x.y-z_");
    assert_int_equal(cget("a=1;b=2", "b", v, sizeof(v)), 0);
    assert_string_equal(v, "2");
    assert_int_equal(cget("a=1; b=2", "c", v, sizeof(v)), TS_ENOTFOUND);
    assert_int_equal(cget("", "a", v, sizeof(v)), TS_ENOTFOUND);
    assert_int_equal(cget("__Host-twostep=1; twostep=2", "__Host-twostep", v, sizeof(v)), 0);
    assert_string_equal(v, "1");
    /* '=' inside a value stays */
    assert_int_equal(cget("a=b=c", "a", v, sizeof(v)), 0);
    assert_string_equal(v, "b=c");
    /* names are case-sensitive */
    assert_int_equal(cget("TwoStep=1", "twostep", v, sizeof(v)), TS_ENOTFOUND);
}

static void
test_cookie_substring_names(void **state)
{
    char v[256];

    assert_int_equal(cget("xtwostep=1; twostep=2", "twostep", v, sizeof(v)), 0);
    assert_string_equal(v, "2");
    assert_int_equal(cget("twostepx=1; twostep=2", "twostep", v, sizeof(v)), 0);
    assert_string_equal(v, "2");
    assert_int_equal(cget("a=twostep=3; twostep=4", "twostep", v, sizeof(v)), 0);
    assert_string_equal(v, "4");
    assert_int_equal(cget("xtwostep=1; twostepx=2", "twostep", v, sizeof(v)), TS_ENOTFOUND);
    assert_int_equal(cget("__Host-twostep=1", "twostep", v, sizeof(v)), TS_ENOTFOUND);
}

static void
test_cookie_spaces_quotes(void **state)
{
    char v[256];

    assert_int_equal(cget("  a = 1 ;  twostep =  v  ; c=3", "twostep", v, sizeof(v)), 0);
    assert_string_equal(v, "v");
    assert_int_equal(cget("\ttwostep=\tv\t", "twostep", v, sizeof(v)), 0);
    assert_string_equal(v, "v");
    assert_int_equal(cget("twostep=\"quoted\"", "twostep", v, sizeof(v)), 0);
    assert_string_equal(v, "quoted");
    assert_int_equal(cget("twostep=\"\"", "twostep", v, sizeof(v)), 0);
    assert_string_equal(v, "");
    assert_int_equal(cget("twostep=", "twostep", v, sizeof(v)), 0);
    assert_string_equal(v, "");
    assert_int_equal(cget("twostep=\"open", "twostep", v, sizeof(v)), TS_EINVAL);
    assert_int_equal(cget("twostep=\"", "twostep", v, sizeof(v)), TS_EINVAL);
    assert_int_equal(cget("twostep=\"a\"b\"", "twostep", v, sizeof(v)), TS_EINVAL);
    assert_int_equal(cget("twostep=a\"b", "twostep", v, sizeof(v)), TS_EINVAL);
    assert_int_equal(cget("twostep=ab\"", "twostep", v, sizeof(v)), TS_EINVAL);
    /* a broken quote in someone else's cookie does not matter */
    assert_int_equal(cget("other=\"open; twostep=ok", "twostep", v, sizeof(v)), 0);
    assert_string_equal(v, "ok");
    /* a name with an inner space is not "twostep" */
    assert_int_equal(cget("two step=1", "twostep", v, sizeof(v)), TS_ENOTFOUND);
}

static void
test_cookie_missing_eq_and_dups(void **state)
{
    char v[256];

    assert_int_equal(cget("nameless; twostep=1", "twostep", v, sizeof(v)), 0);
    assert_string_equal(v, "1");
    assert_int_equal(cget("twostep", "twostep", v, sizeof(v)), TS_ENOTFOUND);
    assert_int_equal(cget(";;; ;twostep=1;;", "twostep", v, sizeof(v)), 0);
    assert_string_equal(v, "1");
    assert_int_equal(cget("twostep=first; twostep=second", "twostep", v, sizeof(v)), 0);
    assert_string_equal(v, "first");
    assert_int_equal(cget("=x; twostep=1", "twostep", v, sizeof(v)), 0);
    assert_string_equal(v, "1");
    assert_int_equal(cget("=x", "", v, sizeof(v)), TS_EINVAL);
}

static void
test_cookie_control_bytes(void **state)
{
    static const char nul[] = "a=1\0; twostep=2";
    const char *v;
    size_t vl;
    char hdr[32];
    int b;

    assert_int_equal(ts_cookie_header_get(nul, sizeof(nul) - 1, "twostep",
                                          &v, &vl), TS_EINVAL);
    /* n bounds the read: stopping before the NUL finds nothing */
    assert_int_equal(ts_cookie_header_get(nul, 3, "a", &v, &vl), 0);
    assert_int_equal(vl, 1);
    for (b = 0; b < 0x20; b++) {
        if (b == '\t')
            continue;
        snprintf(hdr, sizeof(hdr), "x=1; twostep=a%cb", b ? b : 'z');
        hdr[14] = (char)b;
        assert_int_equal(ts_cookie_header_get(hdr, 16, "twostep", &v, &vl),
                         TS_EINVAL);
    }
    snprintf(hdr, sizeof(hdr), "twostep=a\x7f");
    assert_int_equal(ts_cookie_header_get(hdr, strlen(hdr), "twostep", &v, &vl),
                     TS_EINVAL);
    /* non-ASCII bytes are passed through (the cookie decoder refuses them) */
    assert_int_equal(ts_cookie_header_get("twostep=\xc3\xa9", 10, "twostep",
                                          &v, &vl), 0);
    assert_int_equal(vl, 2);
}

static void
test_cookie_truncation(void **state)
{
    const char *full = "a=1; xtwostep=2; twostep=\"abc\"; z=9";
    size_t n = strlen(full), i;
    const char *v;
    size_t vl;
    int rc;

    for (i = 0; i <= n; i++) {
        char *copy = malloc(i ? i : 1);

        memcpy(copy, full, i);
        rc = ts_cookie_header_get(copy, i, "twostep", &v, &vl);
        if (i < 25)
            assert_int_equal(rc, TS_ENOTFOUND);
        else if (i >= 26 && i < 30)
            assert_int_equal(rc, TS_EINVAL);     /* open quote */
        else if (rc == 0)
            assert_true(v >= copy && v + vl <= copy + i);
        free(copy);
    }
}

static void
test_cookie_huge(void **state)
{
    size_t n = 70 * 1024, i;
    char *big = malloc(n);
    const char *v;
    size_t vl;

    for (i = 0; i < n; i++)
        big[i] = "a=1; "[i % 5];
    memcpy(big + n - 10, "twostep=ok", 10);
    assert_int_equal(ts_cookie_header_get(big, n, "twostep", &v, &vl), TS_EINVAL);
    assert_int_equal(ts_cookie_header_get(big + n - 40 * 1024, 40 * 1024,
                                          "twostep", &v, &vl), 0);
    assert_int_equal(vl, 2);
    assert_memory_equal(v, "ok", 2);
    free(big);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form_basic),
        cmocka_unit_test(test_form_plus_and_escapes),
        cmocka_unit_test(test_form_empty_pieces),
        cmocka_unit_test(test_form_duplicates),
        cmocka_unit_test(test_form_bad_escapes),
        cmocka_unit_test(test_form_raw_nul),
        cmocka_unit_test(test_form_truncation),
        cmocka_unit_test(test_form_many_fields),
        cmocka_unit_test(test_form_huge),
        cmocka_unit_test(test_form_every_byte),
        cmocka_unit_test(test_url_decode),
        cmocka_unit_test(test_cookie_basic),
        cmocka_unit_test(test_cookie_substring_names),
        cmocka_unit_test(test_cookie_spaces_quotes),
        cmocka_unit_test(test_cookie_missing_eq_and_dups),
        cmocka_unit_test(test_cookie_control_bytes),
        cmocka_unit_test(test_cookie_truncation),
        cmocka_unit_test(test_cookie_huge),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
