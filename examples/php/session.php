<?php
// A PHP 8 host of beckon through PHP's FFI: plays the same visitor sessions
// as examples/c/session.c and prints the same lines, the way a shop
// platform's backend would call the library.
//
//   php -d ffi.enable=1 examples/php/session.php [path/to/libbeckon_c.so]
//
// The library is found as the argument, else $BECKON_LIB, else by the
// dynamic loader as libbeckon_c.so.0 (an installed library).
//
// The Beckon class below is the part a platform would keep: it declares the
// C functions it uses (copied from include/beckon/beckon.h; the ABI keeps
// them valid), turns each failed call into a BeckonError carrying the status
// code and message, and frees every library-allocated message and buffer
// with beckon_free. Handles are destroyed by the PHP objects' destructors.

declare(strict_types=1);

final class BeckonError extends RuntimeException
{
    public function __construct(public readonly string $status, string $message)
    {
        parent::__construct("$status: $message");
    }
}

final class Beckon
{
    public const ACTION_OFFER = 0;
    public const ACTION_WAIT = 1;
    public const ACTION_SUPPRESS = 2;
    public const CHANNEL_CHAT = 1;

    private const CDEF = <<<'C'
        typedef struct beckon_policy_t beckon_policy_t;
        typedef struct beckon_engine_options_t beckon_engine_options_t;
        typedef struct beckon_engine_t beckon_engine_t;
        typedef struct beckon_decision_t beckon_decision_t;
        typedef struct beckon_decision_info_t {
          uint32_t struct_size;
          int32_t action;
          int32_t reason;
          uint8_t would_offer;
          uint8_t has_recheck_at;
          double probability;
          double threshold;
          int64_t recheck_at_ms;
          uint32_t reason_count;
          uint32_t contribution_count;
        } beckon_decision_info_t;
        typedef struct beckon_stats_t {
          uint32_t struct_size;
          uint32_t action_count;
          uint32_t reason_count;
          uint64_t live_sessions;
          uint64_t memory_records;
          uint64_t sessions_started;
          uint64_t sessions_expired;
          uint64_t sessions_evicted;
          uint64_t memory_evicted;
          uint64_t events_observed;
          uint64_t events_rejected;
          uint64_t decisions_by_action[8];
          uint64_t decisions_by_reason[32];
        } beckon_stats_t;
        const char* beckon_version(void);
        int32_t beckon_abi_version(void);
        const char* beckon_status_name(int32_t status);
        const char* beckon_action_name(int32_t action);
        const char* beckon_reason_name(int32_t reason);
        void beckon_free(void* ptr);
        void beckon_policy_destroy(beckon_policy_t* policy);
        int beckon_policy_to_bytes(const beckon_policy_t* policy, char** data,
                                   size_t* size, char** errptr);
        int beckon_policy_name(const beckon_policy_t* policy, const char** name,
                               char** errptr);
        int beckon_engine_create_default(const beckon_engine_options_t* options,
                                         beckon_engine_t** engine, char** errptr);
        int beckon_engine_create_from_policy_bytes(
            const char* data, size_t size, const beckon_engine_options_t* options,
            beckon_engine_t** engine, char** errptr);
        void beckon_engine_destroy(beckon_engine_t* engine);
        int beckon_engine_policy(const beckon_engine_t* engine,
                                 beckon_policy_t** policy, char** errptr);
        int beckon_engine_observe_page_view(beckon_engine_t* engine, int64_t ts_ms,
                                            const char* visitor, const char* page,
                                            const char* referrer, char** errptr);
        int beckon_engine_observe_search(beckon_engine_t* engine, int64_t ts_ms,
                                         const char* visitor, const char* page,
                                         int64_t results, char** errptr);
        int beckon_engine_observe_cart(beckon_engine_t* engine, int64_t ts_ms,
                                       const char* visitor, const char* page,
                                       double cart_value, char** errptr);
        int beckon_engine_observe_offer_shown(beckon_engine_t* engine,
                                              int64_t ts_ms, const char* visitor,
                                              const char* page, int32_t channel,
                                              char** errptr);
        int beckon_engine_observe_offer_declined(beckon_engine_t* engine,
                                                 int64_t ts_ms,
                                                 const char* visitor,
                                                 const char* page,
                                                 int32_t channel, char** errptr);
        int beckon_engine_observe_purchase(beckon_engine_t* engine, int64_t ts_ms,
                                           const char* visitor, const char* page,
                                           double order_value, char** errptr);
        int beckon_engine_observe_agents(beckon_engine_t* engine, int64_t ts_ms,
                                         int64_t free_agents, char** errptr);
        int beckon_engine_decide(beckon_engine_t* engine, const char* visitor,
                                 int64_t now_ms, beckon_decision_t* decision,
                                 char** errptr);
        int beckon_engine_expire(beckon_engine_t* engine, int64_t now_ms,
                                 char** errptr);
        int beckon_engine_snapshot(const beckon_engine_t* engine, char** data,
                                   size_t* size, char** errptr);
        int beckon_engine_restore(beckon_engine_t* engine, const char* data,
                                  size_t size, char** errptr);
        int beckon_engine_stats(const beckon_engine_t* engine,
                                beckon_stats_t* stats, char** errptr);
        int beckon_decision_create(beckon_decision_t** decision, char** errptr);
        void beckon_decision_destroy(beckon_decision_t* decision);
        int beckon_decision_get_info(const beckon_decision_t* decision,
                                     beckon_decision_info_t* info, char** errptr);
        int beckon_decision_get_reason(const beckon_decision_t* decision,
                                       uint32_t index, const char** text,
                                       char** errptr);
        C;

    public readonly FFI $ffi;

    public function __construct(string $library)
    {
        $this->ffi = FFI::cdef(self::CDEF, $library);
    }

    // Calls beckon_<$fn>(...$args, &err); throws BeckonError on failure.
    public function call(string $fn, mixed ...$args): void
    {
        $err = $this->ffi->new('char*');
        $args[] = FFI::addr($err);
        $status = $this->ffi->{"beckon_$fn"}(...$args);
        if ($status !== 0) {
            $message = FFI::isNull($err) ? '(no message)' : FFI::string($err);
            $this->ffi->beckon_free($err);
            throw new BeckonError(
                $this->ffi->beckon_status_name($status) ?? "status $status",
                $message);
        }
    }

    // Creates a handle of C type $type (e.g. "beckon_engine_t") with
    // beckon_<$fn>(...$args, &handle, &err).
    public function make(string $type, string $fn, mixed ...$args): FFI\CData
    {
        $handle = $this->ffi->new("$type*");
        $this->call($fn, ...[...$args, FFI::addr($handle)]);
        return $handle;
    }

    // Returns a library-allocated buffer from beckon_<$fn>(...$args, &data,
    // &size, &err) as a PHP string, and frees it.
    public function bytes(string $fn, mixed ...$args): string
    {
        $data = $this->ffi->new('char*');
        $size = $this->ffi->new('size_t');
        $this->call($fn, ...[...$args, FFI::addr($data), FFI::addr($size)]);
        $out = FFI::string($data, $size->cdata);
        $this->ffi->beckon_free($data);
        return $out;
    }
}

// One decision, read out of the library's decision handle.
final class Decision
{
    public function __construct(
        public readonly string $action,
        public readonly string $reason,
        public readonly float $probability,
        public readonly float $threshold,
        public readonly ?int $recheckAtMs,
        public readonly array $reasons,
    ) {
    }
}

// An engine and the decision handle this (single-threaded) host reuses.
final class Engine
{
    private FFI\CData $engine;
    private FFI\CData $decision;

    public function __construct(private Beckon $b, ?string $policyBytes = null)
    {
        $this->engine = $policyBytes === null
            ? $b->make('beckon_engine_t', 'engine_create_default', null)
            : $b->make('beckon_engine_t', 'engine_create_from_policy_bytes',
                       $policyBytes, strlen($policyBytes), null);
        $this->decision = $b->make('beckon_decision_t', 'decision_create');
    }

    public function __destruct()
    {
        $this->b->ffi->beckon_decision_destroy($this->decision);
        $this->b->ffi->beckon_engine_destroy($this->engine);
    }

    public function observe(string $kind, mixed ...$args): void
    {
        $this->b->call("engine_observe_$kind", $this->engine, ...$args);
    }

    public function decide(string $visitor, int $nowMs): Decision
    {
        $b = $this->b;
        $b->call('engine_decide', $this->engine, $visitor, $nowMs,
                 $this->decision);
        $info = $b->ffi->new('beckon_decision_info_t');
        $info->struct_size = FFI::sizeof($info);
        $b->call('decision_get_info', $this->decision, FFI::addr($info));
        $reasons = [];
        $text = $b->ffi->new('const char*');
        for ($i = 0; $i < $info->reason_count; ++$i) {
            $b->call('decision_get_reason', $this->decision, $i,
                     FFI::addr($text));
            $reasons[] = FFI::string($text);
        }
        return new Decision(
            $b->ffi->beckon_action_name($info->action),
            $b->ffi->beckon_reason_name($info->reason),
            $info->probability,
            $info->threshold,
            $info->has_recheck_at ? $info->recheck_at_ms : null,
            $reasons);
    }

    public function expire(int $nowMs): void
    {
        $this->b->call('engine_expire', $this->engine, $nowMs);
    }

    public function snapshot(): string
    {
        return $this->b->bytes('engine_snapshot', $this->engine);
    }

    public function restore(string $snapshot): void
    {
        $this->b->call('engine_restore', $this->engine, $snapshot,
                       strlen($snapshot));
    }

    // The binary policy the engine runs, and its name.
    public function policy(): array
    {
        $b = $this->b;
        $policy = $b->make('beckon_policy_t', 'engine_policy', $this->engine);
        try {
            $name = $b->ffi->new('const char*');
            $b->call('policy_name', $policy, FFI::addr($name));
            return [FFI::string($name), $b->bytes('policy_to_bytes', $policy)];
        } finally {
            $b->ffi->beckon_policy_destroy($policy);
        }
    }

    public function stats(): FFI\CData
    {
        $stats = $this->b->ffi->new('beckon_stats_t');
        $stats->struct_size = FFI::sizeof($stats);
        $this->b->call('engine_stats', $this->engine, FFI::addr($stats));
        return $stats;
    }
}

// --- The session ---------------------------------------------------------------

const T0 = 1700000000000;  // A Tuesday in November 2023.
const SEC = 1000;

function clock_text(int $tsMs): string
{
    $s = intdiv($tsMs - T0, 1000);
    if ($s >= 86400) {
        return sprintf('+%dd %d:%02d', intdiv($s, 86400),
                       intdiv($s % 86400, 60), $s % 60);
    }
    return sprintf('+%d:%02d', intdiv($s, 60), $s % 60);
}

final class Host
{
    public function __construct(public Engine $engine)
    {
    }

    // Observes one event and prints it; asks after an accepted visitor event
    // unless $ask is false.
    public function event(int $ts, string $who, string $what, string $kind,
                          array $args, bool $ask = true): void
    {
        printf("%7s  %-10s %s\n", clock_text($ts), $who, $what);
        try {
            $this->engine->observe($kind, $ts, ...$args);
        } catch (BeckonError $e) {
            printf("    rejected: %s\n", $e->getMessage());
            return;
        }
        if ($ask && $kind !== 'agents') {
            $this->ask($who, $ts);
        }
    }

    public function ask(string $visitor, int $now): Decision
    {
        $d = $this->engine->decide($visitor, $now);
        printf('    %-8s p=%.4F (threshold %.4F) [%s]', $d->action,
               $d->probability, $d->threshold, $d->reason);
        if ($d->recheckAtMs !== null) {
            printf('  recheck at %s', clock_text($d->recheckAtMs));
        }
        print("\n");
        foreach ($d->reasons as $r) {
            printf("      - %s\n", $r);
        }
        return $d;
    }

    public function followTimer(string $visitor, Decision $d): void
    {
        while ($d->action === 'wait' && $d->recheckAtMs !== null) {
            $t = $d->recheckAtMs;
            printf("%7s  %-10s (timer fires; nothing else happened)\n",
                   clock_text($t), $visitor);
            $d = $this->ask($visitor, $t);
        }
    }
}

function main(array $argv): int
{
    $library = $argv[1] ?? (getenv('BECKON_LIB') ?: 'libbeckon_c.so.0');
    $b = new Beckon($library);
    $host = new Host(new Engine($b));
    $week = 7 * 86400 * SEC;
    $chat = Beckon::CHANNEL_CHAT;

    [$policyName, $policyBytes] = $host->engine->policy();
    printf("beckon %s (ABI %d) on the policy \"%s\"\n",
           $b->ffi->beckon_version(), $b->ffi->beckon_abi_version(),
           $policyName);

    print("\n1. A visitor gets stuck looking for how to return an item\n\n");
    $host->event(T0, '(site)', '3 agents free', 'agents', [3]);
    $host->event(T0, 'anna', 'lands on / from a search engine', 'page_view',
                 ['anna', '/', 'https://www.google.com/search?q=shop+returns']);
    $host->event(T0 + 20 * SEC, 'anna', 'views /p/4711', 'page_view',
                 ['anna', '/p/4711', null]);
    $host->event(T0 + 70 * SEC, 'anna', 'searches "return label": no results',
                 'search', ['anna', '/search?q=return+label', 0]);
    $host->event(T0 + 85 * SEC, 'anna', 'searches "returns": no results',
                 'search', ['anna', '/search?q=returns', 0]);
    $host->event(T0 + 100 * SEC, 'anna', 'opens /help/returns', 'page_view',
                 ['anna', '/help/returns', null]);
    $host->followTimer('anna', $host->ask('anna', T0 + 110 * SEC));

    print("\n2. She says \"no thanks\"; a late page view is rejected\n\n");
    $host->event(T0 + 146 * SEC, 'anna', 'the chat invitation is shown',
                 'offer_shown', ['anna', '/help/returns', $chat], false);
    $host->event(T0 + 150 * SEC, 'anna', 'declines it', 'offer_declined',
                 ['anna', '/help/returns', $chat], false);
    $host->event(T0 + 140 * SEC, 'anna',
                 'a page view reported late, out of order', 'page_view',
                 ['anna', '/help/returns', null]);

    print("\n3. A browsing visitor buys; nobody interrupts\n\n");
    $host->event(T0 + 200 * SEC, 'ben', 'views /c/shoes', 'page_view',
                 ['ben', '/c/shoes', null]);
    $host->event(T0 + 230 * SEC, 'ben', 'views /p/1001', 'page_view',
                 ['ben', '/p/1001', null]);
    $host->event(T0 + 260 * SEC, 'ben', 'adds to cart (59.90)', 'cart',
                 ['ben', '/p/1001', 59.90]);
    $host->event(T0 + 290 * SEC, 'ben', 'buys (59.90)', 'purchase',
                 ['ben', '/checkout/done', 59.90]);

    print("\n4. No agent is free: nobody is invited\n\n");
    $host->event(T0 + 300 * SEC, '(site)', '0 agents free', 'agents', [0]);
    $host->event(T0 + 300 * SEC, 'carl', 'views /checkout/address',
                 'page_view', ['carl', '/checkout/address', null]);
    $host->event(T0 + 301 * SEC, 'carl', 'reloads it (form error?)',
                 'page_view', ['carl', '/checkout/address', null]);
    $host->ask('carl', T0 + 301 * SEC + 12 * 60 * SEC);

    print("\n5. The shop restarts: snapshot, a new engine, restore\n\n");
    $snapshot = $host->engine->snapshot();
    $host->engine = new Engine($b, $policyBytes);  // The old one is freed.
    $host->engine->restore($snapshot);
    printf("    restored a snapshot of %d bytes\n", strlen($snapshot));

    print("\n6. A week later she is back: beckon still leaves her alone\n\n");
    $host->event(T0 + $week, '(site)', '2 agents free', 'agents', [2]);
    $host->event(T0 + $week, 'anna', 'a new session, stuck in checkout',
                 'page_view', ['anna', '/checkout/payment', null]);
    $later = T0 + $week + 10 * 60 * SEC;
    $host->ask('anna', $later);
    printf("%7s  %-10s %s\n", clock_text($later), '(site)',
           "the host's periodic expiry of idle sessions");
    $host->engine->expire($later);

    $s = $host->engine->stats();
    printf("\nstats since the restart: %d sessions started, %d live, "
           . "%d memory records, %d events observed, %d rejected; "
           . "decisions: %d offer, %d wait, %d suppress\n",
           $s->sessions_started, $s->live_sessions, $s->memory_records,
           $s->events_observed, $s->events_rejected,
           $s->decisions_by_action[Beckon::ACTION_OFFER],
           $s->decisions_by_action[Beckon::ACTION_WAIT],
           $s->decisions_by_action[Beckon::ACTION_SUPPRESS]);
    return 0;
}

try {
    exit(main($argv));
} catch (BeckonError $e) {
    fwrite(STDERR, "beckon: {$e->getMessage()}\n");
    exit(1);
}
