/* QR code of a text as an inline SVG element (libqrencode). */
#ifndef TS_QR_SVG_H
#define TS_QR_SVG_H

#include "ts_buf.h"

/* Appends <svg ...>...</svg> with a 4-module quiet zone, black on white,
 * one <path> for all dark modules, role="img" and an aria-label, scaled by
 * CSS (viewBox, width/height attributes give a ~240 px default).
 * Error correction level M. TS_EINVAL for text libqrencode cannot encode. */
int ts_qr_svg(const char *text, ts_buf *out);

#endif
