/* Backup codes: 10 per user, each 10 characters from Crockford's base32
 * alphabet 0123456789ABCDEFGHJKMNPQRSTVWXYZ (no I, L, O, U), so 50 bits
 * each. Shown as
 * "XXXXX-XXXXX"; typed in any case, with or without spaces and dashes.
 * Stored only as HMAC-SHA256(backup sub-key, user "|" normalised code). */
#ifndef TS_BACKUP_H
#define TS_BACKUP_H

#include <stddef.h>
#include "keys.h"

#define TS_BACKUP_COUNT   10
#define TS_BACKUP_CHARS   10          /* normalised length */
#define TS_BACKUP_SHOWN   12          /* "XXXXX-XXXXX" + NUL */
#define TS_BACKUP_HASHHEX 65          /* 64 hex + NUL */

/* Fills codes with fresh display-form codes. */
int ts_backup_generate(char codes[TS_BACKUP_COUNT][TS_BACKUP_SHOWN]);
/* Normalises typed input: upper case, spaces, tabs and dashes removed, and
 * Crockford's look-alikes mapped (O->0, I->1, L->1).
 * 0 and out filled when the result is TS_BACKUP_CHARS characters of the
 * alphabet; TS_EINVAL otherwise. */
int ts_backup_normalize(const char *in, size_t n,
                        char out[TS_BACKUP_CHARS + 1]);
/* Hex HMAC of a normalised code under one key of the ring. */
int ts_backup_hash(const ts_key *k, const char *user, size_t user_len,
                   const char norm[TS_BACKUP_CHARS + 1],
                   char hex[TS_BACKUP_HASHHEX]);

#endif
