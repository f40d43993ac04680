<?php

declare(strict_types=1);

namespace Beckon;

use Beckon\Exception\InvalidArgumentException;
use FFI\CData;

/**
 * How an engine keeps its visitors (beckon_engine_options_t): in this
 * process's memory (the default: 1,000,000 sessions over 64 shards) or in
 * Redis, shared by every process and server using the same Redis and key
 * prefix. Every value is optional; what is not given keeps the C default.
 * A bad Redis URL, visitor key or negative size throws
 * Exception\InvalidArgumentException when the options are made; a size the
 * engine refuses (a shard count that is not a power of two, 0 sessions)
 * when an engine is created from them, with the C library's message.
 *
 *   new EngineOptions(redisUrl: 'redis://10.0.0.5:6379/0?prefix=shop1:')
 *   EngineOptions::perRequest()   // a small in-memory engine, 1 shard
 *
 * PHP-FPM runs every request's script from the start, so an engine lives for
 * one request: use the Redis store (state shared by the workers), or, in
 * memory, perRequest()'s small capacity (creating a default engine
 * allocates its 64 shards on every request). See docs/php.md.
 */
final class EngineOptions
{
    /** perRequest(): sessions, memory records and shards. */
    public const PER_REQUEST_SESSIONS = 64;
    public const PER_REQUEST_MEMORY_RECORDS = 256;
    public const PER_REQUEST_SHARDS = 1;

    private CData $handle;

    /**
     * @param string|null $redisUrl the Redis store's URL,
     *   redis://[user[:password]@]host[:port][/db][?option=value&...] or
     *   unix:///path/redis.sock[?...] (options db, cluster, prefix,
     *   connect_timeout_ms, command_timeout_ms, max_conflict_retries,
     *   backoff_min_ms, backoff_max_ms, user, password; docs/c-api.md);
     *   null or "" for the in-memory store
     * @param int|null $maxSessions sessions kept at most (>= 1; memory)
     * @param int|null $maxMemoryRecords decline/ignore records (>= 1; memory)
     * @param int|null $shards a power of two in [1, 4096] (memory)
     * @param string|null $visitorKey the visitor-id hash key, 32 hex digits
     * @param string|null $visitorKeyFile a file holding the key (created,
     *   mode 0600, if missing)
     * @param int|null $maxUrlBytes longest page URL accepted (default 8192)
     * @param int|null $maxReferrerBytes longest referrer (default 8192)
     */
    public function __construct(
        public readonly ?string $redisUrl = null,
        public readonly ?int $maxSessions = null,
        public readonly ?int $maxMemoryRecords = null,
        public readonly ?int $shards = null,
        ?string $visitorKey = null,
        public readonly ?string $visitorKeyFile = null,
        public readonly ?int $maxUrlBytes = null,
        public readonly ?int $maxReferrerBytes = null,
        ?Library $library = null,
        public readonly ?string $decisionLog = null,
    ) {
        $this->library = $library ?? Library::get();
        $lib = $this->library;
        $h = $lib->ffi->new('beckon_engine_options_t*');
        $status = $lib->ffi->beckon_engine_options_create(Library::addr($h),
                                                          $lib->errp);
        if ($status !== 0) {
            $lib->raise($status);
        }
        $this->handle = $h;
        if ($maxSessions !== null) {
            $this->set('max_sessions', self::u64($maxSessions, 'maxSessions'));
        }
        if ($maxMemoryRecords !== null) {
            $this->set('max_memory_records',
                       self::u64($maxMemoryRecords, 'maxMemoryRecords'));
        }
        if ($shards !== null) {
            $this->set('shards', self::u32($shards, 'shards'));
        }
        if ($visitorKey !== null) {
            if (preg_match('/^[0-9a-fA-F]{32}$/', $visitorKey) !== 1) {
                throw new InvalidArgumentException(
                    'visitorKey must be 32 hex digits');
            }
            // Two unsigned 64-bit halves; PHP's int wraps the high ones,
            // which FFI passes on bit for bit.
            [, $k0] = unpack('J', hex2bin(substr($visitorKey, 0, 16)));
            [, $k1] = unpack('J', hex2bin(substr($visitorKey, 16)));
            $this->set('visitor_key', $k0, $k1);
        }
        if ($visitorKeyFile !== null) {
            Library::checkText($visitorKeyFile, 'visitorKeyFile');
            $this->set('visitor_key_file', $visitorKeyFile);
        }
        if ($redisUrl !== null && $redisUrl !== '') {
            Library::checkText($redisUrl, 'redisUrl');
            $this->set('redis_url', $redisUrl);
        }
        if ($maxUrlBytes !== null) {
            $this->set('max_url_bytes', self::u32($maxUrlBytes, 'maxUrlBytes'));
        }
        if ($maxReferrerBytes !== null) {
            $this->set('max_referrer_bytes',
                       self::u32($maxReferrerBytes, 'maxReferrerBytes'));
        }
        if ($decisionLog !== null) {
            Library::checkText($decisionLog, 'decisionLog');
            $this->set('decision_log', $decisionLog);
        }
    }

    public readonly Library $library;

    public function __destruct()
    {
        if (isset($this->handle)) {
            $this->library->ffi->beckon_engine_options_destroy($this->handle);
        }
    }

    /** The in-memory store with the given sizes. */
    public static function memory(?int $maxSessions = null,
                                  ?int $maxMemoryRecords = null,
                                  ?int $shards = null,
                                  ?Library $library = null): self
    {
        return new self(maxSessions: $maxSessions,
                        maxMemoryRecords: $maxMemoryRecords, shards: $shards,
                        library: $library);
    }

    /** The Redis store at $url (see the constructor). */
    public static function redis(string $url, ?Library $library = null): self
    {
        return new self(redisUrl: $url, library: $library);
    }

    /**
     * For an engine that lives one request (PHP-FPM): with $redisUrl the
     * Redis store; without, the in-memory store sized for the few visitors
     * of one request (64 sessions, 256 memory records, 1 shard), which
     * costs microseconds to create where the default's 64 shards cost
     * milliseconds.
     */
    public static function perRequest(?string $redisUrl = null,
                                      ?Library $library = null): self
    {
        if ($redisUrl !== null && $redisUrl !== '') {
            return new self(redisUrl: $redisUrl, library: $library);
        }
        return new self(maxSessions: self::PER_REQUEST_SESSIONS,
                        maxMemoryRecords: self::PER_REQUEST_MEMORY_RECORDS,
                        shards: self::PER_REQUEST_SHARDS, library: $library);
    }

    /** Whether the visitors are kept in Redis. */
    public function usesRedis(): bool
    {
        return $this->redisUrl !== null && $this->redisUrl !== '';
    }

    /** @internal The C handle. */
    public function handle(): CData
    {
        return $this->handle;
    }

    private function set(string $what, mixed ...$args): void
    {
        $fn = "beckon_engine_options_set_$what";
        $status = $this->library->ffi->$fn($this->handle, ...[...$args,
                                           $this->library->errp]);
        if ($status !== 0) {
            $this->library->raise($status);
        }
    }

    private static function u64(int $v, string $what): int
    {
        if ($v < 0) {
            throw new InvalidArgumentException("$what must not be negative, got $v");
        }
        return $v;
    }

    private static function u32(int $v, string $what): int
    {
        if ($v < 0 || $v > 0xFFFFFFFF) {
            throw new InvalidArgumentException(
                "$what must be in [0, 4294967295], got $v");
        }
        return $v;
    }
}
