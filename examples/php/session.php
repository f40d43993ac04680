<?php
// A PHP 8 host of beckon through PHP's FFI: plays the same visitor sessions
// as examples/c/session.c and prints the same lines, the way a shop
// platform's backend would call the library.
//
//   php -d ffi.enable=1 examples/php/session.php [libbeckon_c.so [REDIS_URL]]
//
// The library is found as the first argument, else $BECKON_LIB, else by the
// dynamic loader as libbeckon_c.so.0 (an installed library). With a Redis
// URL (the second argument, else $BECKON_REDIS_URL) the engine keeps its
// visitors in Redis, e.g. redis://127.0.0.1:6379/0?prefix=demo: (a prefix
// nobody else writes under: the session's restart restores a snapshot,
// which replaces every visitor under it).
//
// beckon.php beside this file holds what a platform would keep: the
// Beckon, Engine and Decision classes, over the FFI declarations of
// beckon_ffi.h.

declare(strict_types=1);

require __DIR__ . '/beckon.php';

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
    $library = ($argv[1] ?? '') ?: (getenv('BECKON_LIB') ?: 'libbeckon_c.so.0');
    $redisUrl = ($argv[2] ?? '') ?: (getenv('BECKON_REDIS_URL') ?: null);
    $b = Beckon::load($library);
    $host = new Host(new Engine($b, redisUrl: $redisUrl));
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
    // The old engine is freed; the new one uses the same store.
    $host->engine = new Engine($b, $policyBytes, redisUrl: $redisUrl);
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
