/* Return-path validation: local paths only, whatever the encoding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "retpath.h"

static int
ok(const char *s)
{
    return ts_return_path_ok(s, strlen(s));
}

static void
test_accepts_local_paths(void **state)
{
    static const char *good[] = {
        "/", "/lab/", "/lab", "/lab/x?y=1&z=%20", "/a%2Fb", "/a/b/c.html",
        "/x?r=//evil",
        "/%7Euser/", "/a#frag", "/search?q=%25", "/%C3%A9t%C3%A9",
        "/a:b", "/x?u=https://elsewhere", "/.", "/..", "/a/../b",
        "/twostep/", "/x?y=%2F%2F", "/@evil.example",
    };
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!ok(good[i]))
            fail_msg("refused good path %s", good[i]);
        assert_ptr_equal(ts_return_path(good[i], strlen(good[i])), good[i]);
    }
}

static void
test_refuses_tricks(void **state)
{
    static const char *bad[] = {
        "//x", "//evil.example/", "/\\x", "\\x", "\\\\evil", "https:x",
        "https://evil", "http://evil", "x", "", "/%2F/evil", "/%2fevil",
        "/%5Cevil", "/%5cevil", "/%0d%0aSet-Cookie:x", "/%0D%0A", "/%00",
        "/a%00b", "/%252F%252Fevil", "/%252fevil", "/%255Cevil",
        "/%25252F%25252Fevil", "/%2525252F", "/\t/evil", "/a b", "/a\nb",
        "/a\rb", " /a", "/a ", "javascript:alert(1)", "/a\\b", "/x%5Cy",
        "/%", "/%4", "/%zz", "/%4g", "/a%", "/%7f", "/%1b", "/%09/evil",
        "/%2509", "/\x7f", "/caf\xc3\xa9", "/\x80", "/\xff", ";evil",
        "%2F%2Fevil", "%2F", "./x", "?x=1", "#x", "data:text/html,x",
        "/%5C/evil", "/%2F%5Cevil", "%5C%5Cevil",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ok(bad[i]))
            fail_msg("accepted bad path \"%s\"", bad[i]);
        assert_string_equal(ts_return_path(bad[i], strlen(bad[i])), "/");
    }
}

static void
test_nul_and_length(void **state)
{
    static const char withnul[] = "/a\0b";
    char *big;

    assert_int_equal(ts_return_path_ok(withnul, sizeof(withnul) - 1), 0);
    /* n bounds the read: the part before the NUL is fine */
    assert_int_equal(ts_return_path_ok(withnul, 2), 1);
    assert_int_equal(ts_return_path_ok(NULL, 0), 0);
    assert_int_equal(ts_return_path_ok(NULL, 5), 0);
    assert_string_equal(ts_return_path(NULL, 0), "/");

    big = malloc(4096);
    memset(big, 'a', 4096);
    big[0] = '/';
    assert_int_equal(ts_return_path_ok(big, 2048), 1);
    assert_int_equal(ts_return_path_ok(big, 2049), 0);
    assert_int_equal(ts_return_path_ok(big, 4096), 0);
    free(big);
}

static void
test_truncation(void **state)
{
    /* Every prefix of a good path: refused only when empty or cut inside
     * an escape; never a read past n (ASan checks the exact-size copy). */
    const char *full = "/lab/x?y=1&z=%20&w=%2F";
    size_t n = strlen(full), i;

    for (i = 0; i <= n; i++) {
        char *copy = malloc(i ? i : 1);
        int cut_escape = i >= 1 && (full[i - 1] == '%' ||
                                    (i >= 2 && full[i - 2] == '%'));

        memcpy(copy, full, i);
        assert_int_equal(ts_return_path_ok(copy, i), i > 0 && !cut_escape);
        free(copy);
    }
}

/* The property the fuzz target checks too. */
static void
assert_property(const char *s, size_t n)
{
    size_t i;

    if (!ts_return_path_ok(s, n))
        return;
    assert_true(n >= 1 && s[0] == '/');
    assert_false(n >= 2 && (s[1] == '/' || s[1] == '\\'));
    for (i = 0; i < n; i++) {
        assert_true((unsigned char)s[i] >= 0x21);
        assert_true((unsigned char)s[i] < 0x7f);
        assert_true(s[i] != '\\');
    }
}

static void
test_every_byte(void **state)
{
    /* Each position of a few paths set to every byte value. */
    static const char *seeds[] = { "/a%2Fb/c", "/%25", "/x" };
    char buf[16];
    size_t k, i, n;
    int b;

    for (k = 0; k < sizeof(seeds) / sizeof(seeds[0]); k++) {
        n = strlen(seeds[k]);
        for (i = 0; i < n; i++)
            for (b = 0; b < 256; b++) {
                memcpy(buf, seeds[k], n);
                buf[i] = (char)b;
                assert_property(buf, n);
                if (i == 1 && (b == '/' || b == '\\'))
                    assert_int_equal(ts_return_path_ok(buf, n), 0);
                if (b < 0x21 || b >= 0x7f)
                    assert_int_equal(ts_return_path_ok(buf, n), 0);
            }
    }
}

static void
test_second_byte_encoded(void **state)
{
    /* Every encoding of '/' or '\' as the second byte, at depths 1-3,
     * upper and lower case hex, is refused; depth 4 is refused because it
     * is still encoded after three rounds. */
    static const char *hex[] = { "2F", "2f", "5C", "5c" };
    static const char *layers[] = { "%", "%25", "%2525", "%252525" };
    char buf[64];
    size_t i, d;

    for (i = 0; i < 4; i++)
        for (d = 0; d < 4; d++) {
            snprintf(buf, sizeof(buf), "/%s%sevil.example", layers[d], hex[i]);
            if (ok(buf))
                fail_msg("accepted %s", buf);
            /* the same escape further in is harmless at depth 1-3 */
            snprintf(buf, sizeof(buf), "/a%s%sevil.example", layers[d], hex[i]);
            if (ok(buf) != (d < 3 && hex[i][0] == '2'))
                fail_msg("wrong answer for %s", buf);
        }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_local_paths),
        cmocka_unit_test(test_refuses_tricks),
        cmocka_unit_test(test_nul_and_length),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_second_byte_encoded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
