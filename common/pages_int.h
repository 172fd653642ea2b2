/* Shared pieces of the HTML pages (pages*.c only; not a public contract).
 *
 * Every helper appends to a ts_buf and relies on its sticky out-of-memory
 * flag: a page appends everything and checks once, in ts_pg_end(). */
#ifndef TS_PAGES_INT_H
#define TS_PAGES_INT_H

#include <stddef.h>
#include <stdint.h>
#include "pages.h"
#include "ts_buf.h"

/* <!doctype html> ... <main>, the site name and the <h1>. `title` is our
 * own text (not escaped); the issuer is escaped. `wide` widens the card
 * (the admin table). */
void ts_pg_head(ts_buf *b, const ts_page_ctx *ctx, const char *title,
                int wide);
/* The footer (who is signed in, a link to the settings page unless
 * `on_account`), </main></body></html>. */
void ts_pg_foot(ts_buf *b, const ts_page_ctx *ctx, int on_account);
/* 0, or TS_ENOMEM when any append failed. */
int  ts_pg_end(const ts_buf *b);

/* ctx->base + path, HTML-escaped, for an href or action value. A missing
 * base means "/twostep"; a trailing '/' of base is not doubled. */
void ts_pg_url(ts_buf *b, const ts_page_ctx *ctx, const char *path);
/* ctx->ret, or "/" when it is missing or not a plain local path; the
 * second one appends it escaped. */
const char *ts_pg_ret_str(const ts_page_ctx *ctx);
void ts_pg_ret(ts_buf *b, const ts_page_ctx *ctx);
/* <form method="post" action="BASE PATH" [class]> and the hidden csrf. */
void ts_pg_form(ts_buf *b, const ts_page_ctx *ctx, const char *path,
                const char *cls);
void ts_pg_hidden(ts_buf *b, const char *name, const char *value);
/* A labelled text field for a code. numeric: a TOTP-only field (digits
 * keypad, maxlength = digits); otherwise it takes backup codes too. */
void ts_pg_code_field(ts_buf *b, const char *id, const char *name,
                      const char *label, const char *hint, int numeric,
                      int digits, int autofocus);
/* The message boxes; NULL or "" prints nothing. */
void ts_pg_alert(ts_buf *b, const char *msg);
void ts_pg_notice(ts_buf *b, const char *msg);

/* <time ...>2026-12-04 14:03 UTC</time>; "unknown" for t <= 0 or a time
 * gmtime_r cannot break down. */
void ts_pg_date(ts_buf *b, int64_t t);
/* "Chrome on Linux" style summary of a User-Agent into out (NUL-terminated,
 * never more than cap - 1 bytes); the first 40 characters when unknown. */
void ts_pg_ua_summary(const char *ua, char *out, size_t cap);
/* <span title="FULL UA">summary</span>, both escaped. */
void ts_pg_ua(ts_buf *b, const char *ua);

/* The issuer for text, "this site" when none is configured. */
const char *ts_pg_issuer(const ts_page_ctx *ctx);

#endif
