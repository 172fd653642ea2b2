/* QR code as an inline SVG: libqrencode computes the modules, we draw each
 * horizontal run of dark modules as one rectangle of a single <path>. */
#include <errno.h>
#include <string.h>

#include <qrencode.h>

#include "qr_svg.h"
#include "ts_err.h"

#define QR_QUIET 4      /* modules of white border readers need */
#define QR_PIXELS 240   /* default rendered size; CSS may override */

/* Appends the path data of row y: one "M x y h len v1 h -len z" per run. */
static void
svg_row(const QRcode *qr, int y, ts_buf *out)
{
    const unsigned char *row = qr->data + (size_t)y * (size_t)qr->width;
    int x = 0;

    while (x < qr->width) {
        int start;

        if (!(row[x] & 1)) {
            x++;
            continue;
        }
        start = x;
        while (x < qr->width && (row[x] & 1))
            x++;
        ts_buf_printf(out, "M%d %dh%dv1h-%dz", start + QR_QUIET, y + QR_QUIET,
                      x - start, x - start);
    }
}

static void
svg_write(const QRcode *qr, ts_buf *out)
{
    int size = qr->width + 2 * QR_QUIET, y;

    ts_buf_printf(out,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\""
                  " width=\"%d\" height=\"%d\" role=\"img\""
                  " aria-label=\"QR code for your authenticator app\""
                  " shape-rendering=\"crispEdges\">"
                  "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
                  "<path fill=\"#000\" d=\"",
                  size, size, QR_PIXELS, QR_PIXELS, size, size);
    for (y = 0; y < qr->width; y++)
        svg_row(qr, y, out);
    ts_buf_puts(out, "\"/></svg>");
}

int
ts_qr_svg(const char *text, ts_buf *out)
{
    QRcode *qr;

    if (text == NULL || out == NULL || text[0] == '\0')
        return TS_EINVAL;
    /* Version 0 = the smallest that fits; level M as the contract says.
     * Case-sensitive 8-bit hint: the otpauth URI is mixed-case ASCII, and
     * libqrencode still packs digit runs in numeric mode where that is
     * shorter. */
    errno = 0;
    qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (qr == NULL)
        return errno == ENOMEM ? TS_ENOMEM : TS_EINVAL;
    svg_write(qr, out);
    QRcode_free(qr);
    return out->oom ? TS_ENOMEM : TS_OK;
}
