/* The atomic steps, as Lua scripts run with EVAL.
 *
 * Each script touches the keys of one user only (they share the user's
 * hash tag), so it is atomic in Redis and would run on Redis Cluster.
 * Numbers travel as decimal strings; scripts return arrays whose first
 * element says what happened. EVAL (not EVALSHA) keeps one round trip
 * without a NOSCRIPT retry: these run only on the cold paths. */
#include <stdio.h>
#include <string.h>

#include "engine_int.h"
#include "seal.h"

static const char *
num(ts_txn *t, long long v)
{
    return ts_arena_printf(&t->arena, "%lld", v);
}

/* Reserve one attempt: refused while locked; the (max+1)-th attempt in a
 * window locks. Returns {1, count} or {0, lock ms left}. Counting before
 * the check (not after a failure) bounds guesses under concurrency too. */
static const char LUA_ATTEMPT[] =
    "local left = redis.call('PTTL', KEYS[2])\n"
    "if left > 0 then return {0, left} end\n"
    "local n = redis.call('INCR', KEYS[1])\n"
    "if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end\n"
    "if n > tonumber(ARGV[1]) then\n"
    "  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])\n"
    "  redis.call('DEL', KEYS[1])\n"
    "  return {0, tonumber(ARGV[3])}\n"
    "end\n"
    "return {1, n}\n";

void
ts_cmd_attempt_reserve(ts_txn *t, const char *fail_key, const char *lock_key,
                       const ts_limit *l)
{
    ts_cmd_add(t, "EVAL", LUA_ATTEMPT, "2", fail_key, lock_key,
               num(t, l->max), num(t, l->window_ms), num(t, l->lockout_ms),
               NULL);
}

void
ts_cmd_attempt_lock(ts_txn *t, const char *lock_key, const ts_limit *l)
{
    ts_cmd_add(t, "SET", lock_key, "1", "PX", num(t, l->lockout_ms), NULL);
}

/* Accept a TOTP step once: only a step after the last accepted one, and
 * only while the secret is the one the code was checked against (a
 * concurrent re-enrollment or disable wins). Optionally registers a
 * trusted device in the same atomic step. {1, epoch} or {0} replay or
 * {-1} secret changed / 2-step off. */
static const char LUA_ACCEPT_STEP[] =
    "if redis.call('HGET', KEYS[1], 'enabled') ~= '1' or\n"
    "   redis.call('HGET', KEYS[1], 'secret') ~= ARGV[2] then return {-1} end\n"
    "local last = tonumber(redis.call('HGET', KEYS[1], 'last_step') or '-1')\n"
    "if tonumber(ARGV[1]) <= last then return {0} end\n"
    "redis.call('HSET', KEYS[1], 'last_step', ARGV[1])\n"
    "if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], ARGV[3], ARGV[4]) end\n"
    "return {1, redis.call('HGET', KEYS[1], 'epoch') or '0'}\n";

void
ts_cmd_accept_step(ts_txn *t, const char *user, int64_t step,
                   const char *sealed, const char *device,
                   const char *device_rec)
{
    ts_cmd_add(t, "EVAL", LUA_ACCEPT_STEP, "2", ts_rkey(t, user, "user"),
               ts_rkey(t, user, "devices"), num(t, step), sealed,
               device ? device : "", device_rec ? device_rec : "", NULL);
}

/* Consume a backup code: SREM succeeds for exactly one of N concurrent
 * uses. ARGV[3..] are the code's hashes under each key of the ring (a
 * rotation keeps old codes usable). {1, epoch, left} or {0} or {-1}. */
static const char LUA_USE_BACKUP[] =
    "if redis.call('HGET', KEYS[2], 'enabled') ~= '1' then return {-1} end\n"
    "for i = 3, #ARGV do\n"
    "  if redis.call('SREM', KEYS[1], ARGV[i]) == 1 then\n"
    "    if ARGV[1] ~= '' then redis.call('HSET', KEYS[3], ARGV[1], ARGV[2]) end\n"
    "    return {1, redis.call('HGET', KEYS[2], 'epoch') or '0',\n"
    "            redis.call('SCARD', KEYS[1])}\n"
    "  end\n"
    "end\n"
    "return {0}\n";

void
ts_cmd_use_backup(ts_txn *t, const char *user, const char *norm,
                  const char *device, const char *device_rec)
{
    const char *argv[8 + TS_KEYRING_MAX];
    int argc = 0;
    size_t i;
    size_t ulen = strlen(user);

    argv[argc++] = "EVAL";
    argv[argc++] = LUA_USE_BACKUP;
    argv[argc++] = "3";
    argv[argc++] = ts_rkey(t, user, "backup");
    argv[argc++] = ts_rkey(t, user, "user");
    argv[argc++] = ts_rkey(t, user, "devices");
    argv[argc++] = device ? device : "";
    argv[argc++] = device_rec ? device_rec : "";
    for (i = 0; i < t->cfg->keys->n; i++) {
        char *hex = ts_arena_alloc(&t->arena, TS_BACKUP_HASHHEX);
        if (hex == NULL || ts_backup_hash(&t->cfg->keys->keys[i], user, ulen,
                                          norm, hex) != 0)
            continue;
        argv[argc++] = hex;
    }
    ts_cmd_addv(t, argc, argv);
}

/* Keep one pending secret per user for 15 minutes, so a reload of the
 * enrollment page shows the same QR code. */
void
ts_cmd_enroll_pending(ts_txn *t, const char *user, const char *sealed)
{
    const char *key = ts_rkey(t, user, "pending");

    ts_cmd_add(t, "SET", key, sealed, "NX", "PX", "900000", NULL);
    ts_cmd_add(t, "GET", key, NULL);
}

/* Turn 2-step on with the pending secret the code was checked against:
 * new epoch (older cookies die), new backup codes, devices forgotten.
 * {1, epoch} or {0} when the pending secret changed or expired. */
static const char LUA_ENROLL[] =
    "if redis.call('GET', KEYS[2]) ~= ARGV[1] then return {0} end\n"
    "local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)\n"
    "redis.call('HSET', KEYS[1], 'secret', ARGV[1], 'alg', ARGV[2],\n"
    "  'digits', ARGV[3], 'period', ARGV[4], 'last_step', ARGV[5],\n"
    "  'enabled', '1', 'since', ARGV[6])\n"
    "redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])\n"
    "for i = 7, #ARGV do redis.call('SADD', KEYS[3], ARGV[i]) end\n"
    "return {1, epoch}\n";

static int
backup_hashes(ts_txn *t, const char *user,
              char codes[TS_BACKUP_COUNT][TS_BACKUP_SHOWN], const char **out)
{
    char norm[TS_BACKUP_CHARS + 1];
    int i;

    for (i = 0; i < TS_BACKUP_COUNT; i++) {
        char *hex = ts_arena_alloc(&t->arena, TS_BACKUP_HASHHEX);
        if (hex == NULL ||
            ts_backup_normalize(codes[i], strlen(codes[i]), norm) != 0 ||
            ts_backup_hash(&t->cfg->keys->keys[0], user, strlen(user), norm,
                           hex) != 0)
            return -1;
        out[i] = hex;
    }
    return 0;
}

void
ts_cmd_enroll_save(ts_txn *t, const char *user, const char *sealed, int alg,
                   int digits, int period, int64_t step,
                   char codes[TS_BACKUP_COUNT][TS_BACKUP_SHOWN])
{
    const char *argv[16 + TS_BACKUP_COUNT];
    int argc = 0;

    argv[argc++] = "EVAL";
    argv[argc++] = LUA_ENROLL;
    argv[argc++] = "4";
    argv[argc++] = ts_rkey(t, user, "user");
    argv[argc++] = ts_rkey(t, user, "pending");
    argv[argc++] = ts_rkey(t, user, "backup");
    argv[argc++] = ts_rkey(t, user, "devices");
    argv[argc++] = sealed;
    argv[argc++] = ts_alg_name((ts_alg)alg);
    argv[argc++] = num(t, digits);
    argv[argc++] = num(t, period);
    argv[argc++] = num(t, step);
    argv[argc++] = num(t, ts_now_s(t));
    if (backup_hashes(t, user, codes, argv + argc) != 0)
        return;
    argc += TS_BACKUP_COUNT;
    ts_cmd_addv(t, argc, argv);
    ts_cmd_add(t, "SADD", ts_rkey_global(t, "users"), user, NULL);
}

/* Turn 2-step off: secret, devices, backup codes and any pending
 * enrollment go; the epoch goes up so every cookie dies. 1 or 0 (was off). */
static const char LUA_DISABLE[] =
    "local was = redis.call('HGET', KEYS[1], 'enabled')\n"
    "redis.call('HDEL', KEYS[1], 'secret', 'alg', 'digits', 'period',\n"
    "  'last_step', 'since')\n"
    "redis.call('HSET', KEYS[1], 'enabled', '0')\n"
    "redis.call('HINCRBY', KEYS[1], 'epoch', 1)\n"
    "redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])\n"
    "if was == '1' then return 1 end\n"
    "return 0\n";

void
ts_cmd_disable(ts_txn *t, const char *user)
{
    ts_cmd_add(t, "EVAL", LUA_DISABLE, "6", ts_rkey(t, user, "user"),
               ts_rkey(t, user, "devices"), ts_rkey(t, user, "backup"),
               ts_rkey(t, user, "pending"), ts_rkey(t, user, "fail"),
               ts_rkey(t, user, "lock"), NULL);
}

/* Replace the backup codes while 2-step is on. 1 or 0 (off). */
static const char LUA_BACKUP_REPLACE[] =
    "if redis.call('HGET', KEYS[1], 'enabled') ~= '1' then return 0 end\n"
    "redis.call('DEL', KEYS[2])\n"
    "for i = 1, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end\n"
    "return 1\n";

void
ts_cmd_backup_replace(ts_txn *t, const char *user,
                      char codes[TS_BACKUP_COUNT][TS_BACKUP_SHOWN])
{
    const char *argv[8 + TS_BACKUP_COUNT];
    int argc = 0;

    argv[argc++] = "EVAL";
    argv[argc++] = LUA_BACKUP_REPLACE;
    argv[argc++] = "2";
    argv[argc++] = ts_rkey(t, user, "user");
    argv[argc++] = ts_rkey(t, user, "backup");
    if (backup_hashes(t, user, codes, argv + argc) != 0)
        return;
    argc += TS_BACKUP_COUNT;
    ts_cmd_addv(t, argc, argv);
}

/* Update "last seen" of a device record, keeping the rest. */
static const char LUA_TOUCH[] =
    "local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if not v then return 0 end\n"
    "local c, rest = string.match(v, '^(%d+)|%d+|(.*)$')\n"
    "if not c then return 0 end\n"
    "redis.call('HSET', KEYS[1], ARGV[1], c .. '|' .. ARGV[2] .. '|' .. rest)\n"
    "return 1\n";

void
ts_cmd_touch_device(ts_txn *t, const char *user, const char *device)
{
    ts_cmd_add(t, "EVAL", LUA_TOUCH, "1", ts_rkey(t, user, "devices"), device,
               num(t, ts_now_s(t)), NULL);
}

/* Give back an attempt of a shared counter (per-IP) after a success, but
 * never create it. */
static const char LUA_DECR_IF[] =
    "if redis.call('GET', KEYS[1]) then return redis.call('DECR', KEYS[1]) end\n"
    "return 0\n";

void
ts_cmd_decr_if(ts_txn *t, const char *key)
{
    ts_cmd_add(t, "EVAL", LUA_DECR_IF, "1", key, NULL);
}

/* Tells every process to forget what it cached about the user. Sent in
 * the trailer, after the change it announces (same connection, in order). */
void
ts_cmd_publish(ts_txn *t, const char *user)
{
    int was = t->trailing;

    t->trailing = 1;
    ts_cmd_add(t, "PUBLISH", ts_rkey_global(t, "invalidate"), user, NULL);
    t->trailing = was;
}

const char *
ts_device_record(ts_txn *t)
{
    char ua[201];
    size_t i, n = 0;
    const char *s = t->req.user_agent;

    /* '|' separates fields; control bytes have no business in a UA. */
    for (i = 0; s[i] && n < sizeof(ua) - 1; i++) {
        unsigned char c = (unsigned char)s[i];
        ua[n++] = (c < 0x20 || c == 0x7f || c == '|') ? ' ' : (char)c;
    }
    ua[n] = '\0';
    return ts_arena_printf(&t->arena, "%lld|%lld|%s|%s",
                           (long long)ts_now_s(t), (long long)ts_now_s(t),
                           t->req.client_ip, ua);
}
