/**
 * The Lua scripts of the Redis store. Each runs atomically on the server (Redis runs one script at
 * a time), which is what makes a publish first-writer-wins and a lock release "only if still
 * mine" without a round trip per step. ioredis sends them by SHA (`EVALSHA`) and falls back to the
 * source once per connection when the server does not know them yet (after a restart, say).
 */

/** Script definitions for ioredis's `defineCommand`. */
export const SCRIPTS = {
  /**
   * Publishes an entry unless one exists: `SET entry value NX`, and on success points the stage's
   * `latest` at the key. Returns nothing when published, the existing entry's bytes otherwise
   * (the caller verifies them: a damaged one is removed and the publish tried again).
   * KEYS: entry, latest. ARGV: value, key.
   */
  memopipePublish: {
    numberOfKeys: 2,
    lua: `
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('SET', KEYS[2], ARGV[2])
  return false
end
return redis.call('GET', KEYS[1])`,
  },
  /**
   * Deletes a value only if it is still the one the caller judged (same SHA-1): a damaged entry is
   * removed without ever removing a good one another process published meanwhile.
   * KEYS: the key. ARGV: the SHA-1 (hex) of the value to remove.
   */
  memopipeDeleteIf: {
    numberOfKeys: 1,
    lua: `
local v = redis.call('GET', KEYS[1])
if v and redis.sha1hex(v) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
  },
  /**
   * Renews a claim's lease if the lock still holds this owner's value.
   * KEYS: lock. ARGV: owner value, lease (ms).
   */
  memopipeRenew: {
    numberOfKeys: 1,
    lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`,
  },
  /**
   * Releases a claim: deletes the lock if it still holds this owner's value, and wakes the
   * waiters (a message on the key's channel) either way.
   * KEYS: lock. ARGV: owner value, channel.
   */
  memopipeRelease: {
    numberOfKeys: 1,
    lua: `
local mine = redis.call('GET', KEYS[1]) == ARGV[1]
if mine then redis.call('DEL', KEYS[1]) end
redis.call('PUBLISH', ARGV[2], '1')
if mine then return 1 end
return 0`,
  },
} as const;

/** The commands the scripts add to a connection (`defineCommand`), as the store calls them. */
export interface ScriptCommands {
  /** The `…Buffer` form ioredis adds: the existing entry comes back as bytes. */
  memopipePublishBuffer(entryKey: string, latestKey: string, value: Buffer, key: string): Promise<Buffer | null>;
  memopipeDeleteIf(key: string, sha1: string): Promise<number>;
  memopipeRenew(lockKey: string, owner: string, leaseMs: number): Promise<number>;
  memopipeRelease(lockKey: string, owner: string, channel: string): Promise<number>;
}
