<?php
// A PHP 8 host of beckon, on the PHP package (bindings/php, Composer
// "beckon/beckon"): plays the same visitor sessions as examples/c/session.c
// and prints the same lines, the way a shop platform's backend would call
// the library.
//
//   php examples/php/session.php [libbeckon_c.so [REDIS_URL]]
//
// The library is the first argument, else $BECKON_LIB, else what
// Beckon\Library::get() finds (a preloaded scope, $BECKON_LIBRARY, or
// libbeckon_c.so.0 through the dynamic loader: an installed library). With a
// Redis URL (the second argument, else $BECKON_REDIS_URL) the engine keeps
// its visitors in Redis, e.g. redis://127.0.0.1:6379/0?prefix=demo: (a
// prefix nobody else writes under: the session's restart restores a
// snapshot, which replaces every visitor under it).
//
// A Composer project requires vendor/autoload.php instead of the package's
// autoload.php (docs/php.md).

declare(strict_types=1);

require __DIR__ . '/../../bindings/php/autoload.php';

use Beckon\BeckonException;
use Beckon\Channel;
use Beckon\Decision;
use Beckon\Engine;
use Beckon\EngineOptions;
use Beckon\Library;

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

    // Observes one event ($observe calls the engine) and prints it; asks
    // after an accepted visitor event unless $ask is false.
    public function event(int $ts, string $who, string $what,
                          callable $observe, bool $ask = true): void
    {
        printf("%7s  %-10s %s\n", clock_text($ts), $who, $what);
        try {
            $observe($this->engine);
        } catch (BeckonException $e) {
            printf("    rejected: %s: %s\n", $e->getStatus(), $e->getMessage());
            return;
        }
        if ($ask) {
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
        foreach ($d->reasons() as $r) {
            printf("      - %s\n", $r);
        }
        return $d;
    }

    public function followTimer(string $visitor, Decision $d): void
    {
        while ($d->action === Decision::WAIT && $d->recheckAtMs !== null) {
            $t = $d->recheckAtMs;
            printf("%7s  %-10s (timer fires; nothing else happened)\n",
                   clock_text($t), $visitor);
            $d = $this->ask($visitor, $t);
        }
    }
}

function main(array $argv): int
{
    $path = ($argv[1] ?? '') ?: (getenv('BECKON_LIB') ?: '');
    $redisUrl = ($argv[2] ?? '') ?: (getenv('BECKON_REDIS_URL') ?: null);
    $lib = $path !== '' ? Library::load($path) : Library::get();
    // In memory (the defaults), or in Redis.
    $options = $redisUrl !== null ? EngineOptions::redis($redisUrl, $lib) : null;
    $host = new Host(new Engine(null, $options, $lib));
    $week = 7 * 86400 * SEC;
    $chat = Channel::Chat;

    $policy = $host->engine->policy();
    printf("beckon %s (ABI %d) on the policy \"%s\"\n", $lib->version(),
           $lib->abiVersion(), $policy->name());

    print("\n1. A visitor gets stuck looking for how to return an item\n\n");
    $host->event(T0, '(site)', '3 agents free',
                 fn (Engine $e) => $e->agents(T0, 3), false);
    $host->event(T0, 'anna', 'lands on / from a search engine',
                 fn (Engine $e) => $e->pageView(
                     T0, 'anna', '/', 'https://www.google.com/search?q=shop+returns'));
    $host->event(T0 + 20 * SEC, 'anna', 'views /p/4711',
                 fn (Engine $e) => $e->pageView(T0 + 20 * SEC, 'anna', '/p/4711'));
    $host->event(T0 + 70 * SEC, 'anna', 'searches "return label": no results',
                 fn (Engine $e) => $e->search(T0 + 70 * SEC, 'anna',
                                              '/search?q=return+label', 0));
    $host->event(T0 + 85 * SEC, 'anna', 'searches "returns": no results',
                 fn (Engine $e) => $e->search(T0 + 85 * SEC, 'anna',
                                              '/search?q=returns', 0));
    $host->event(T0 + 100 * SEC, 'anna', 'opens /help/returns',
                 fn (Engine $e) => $e->pageView(T0 + 100 * SEC, 'anna',
                                                '/help/returns'));
    $host->followTimer('anna', $host->ask('anna', T0 + 110 * SEC));

    print("\n2. She says \"no thanks\"; a late page view is rejected\n\n");
    $host->event(T0 + 146 * SEC, 'anna', 'the chat invitation is shown',
                 fn (Engine $e) => $e->offerShown(T0 + 146 * SEC, 'anna',
                                                  '/help/returns', $chat), false);
    $host->event(T0 + 150 * SEC, 'anna', 'declines it',
                 fn (Engine $e) => $e->offerDeclined(T0 + 150 * SEC, 'anna',
                                                     '/help/returns', $chat), false);
    $host->event(T0 + 140 * SEC, 'anna',
                 'a page view reported late, out of order',
                 fn (Engine $e) => $e->pageView(T0 + 140 * SEC, 'anna',
                                                '/help/returns'));

    print("\n3. A browsing visitor buys; nobody interrupts\n\n");
    $host->event(T0 + 200 * SEC, 'ben', 'views /c/shoes',
                 fn (Engine $e) => $e->pageView(T0 + 200 * SEC, 'ben', '/c/shoes'));
    $host->event(T0 + 230 * SEC, 'ben', 'views /p/1001',
                 fn (Engine $e) => $e->pageView(T0 + 230 * SEC, 'ben', '/p/1001'));
    $host->event(T0 + 260 * SEC, 'ben', 'adds to cart (59.90)',
                 fn (Engine $e) => $e->cart(T0 + 260 * SEC, 'ben', '/p/1001', 59.90));
    $host->event(T0 + 290 * SEC, 'ben', 'buys (59.90)',
                 fn (Engine $e) => $e->purchase(T0 + 290 * SEC, 'ben',
                                                '/checkout/done', 59.90));

    print("\n4. No agent is free: nobody is invited\n\n");
    $host->event(T0 + 300 * SEC, '(site)', '0 agents free',
                 fn (Engine $e) => $e->agents(T0 + 300 * SEC, 0), false);
    $host->event(T0 + 300 * SEC, 'carl', 'views /checkout/address',
                 fn (Engine $e) => $e->pageView(T0 + 300 * SEC, 'carl',
                                                '/checkout/address'));
    $host->event(T0 + 301 * SEC, 'carl', 'reloads it (form error?)',
                 fn (Engine $e) => $e->pageView(T0 + 301 * SEC, 'carl',
                                                '/checkout/address'));
    $host->ask('carl', T0 + 301 * SEC + 12 * 60 * SEC);

    print("\n5. The shop restarts: snapshot, a new engine, restore\n\n");
    $snapshot = $host->engine->snapshot();
    // The old engine is freed; the new one uses the same store.
    $host->engine = Engine::fromPolicyBytes($policy->toBytes(), $options, $lib);
    $host->engine->restore($snapshot);
    printf("    restored a snapshot of %d bytes\n", strlen($snapshot));

    print("\n6. A week later she is back: beckon still leaves her alone\n\n");
    $host->event(T0 + $week, '(site)', '2 agents free',
                 fn (Engine $e) => $e->agents(T0 + $week, 2), false);
    $host->event(T0 + $week, 'anna', 'a new session, stuck in checkout',
                 fn (Engine $e) => $e->pageView(T0 + $week, 'anna',
                                                '/checkout/payment'));
    $later = T0 + $week + 10 * 60 * SEC;
    $host->ask('anna', $later);
    printf("%7s  %-10s %s\n", clock_text($later), '(site)',
           "the host's periodic expiry of idle sessions");
    $host->engine->expire($later);

    $s = $host->engine->stats();
    printf("\nstats since the restart: %d sessions started, %d live, "
           . "%d memory records, %d events observed, %d rejected; "
           . "decisions: %d offer, %d wait, %d suppress\n",
           $s->sessionsStarted, $s->liveSessions, $s->memoryRecords,
           $s->eventsObserved, $s->eventsRejected,
           $s->decisionsByAction['offer'], $s->decisionsByAction['wait'],
           $s->decisionsByAction['suppress']);
    return 0;
}

try {
    exit(main($argv));
} catch (BeckonException $e) {
    fwrite(STDERR, "beckon: {$e->getStatus()}: {$e->getMessage()}\n");
    exit(1);
}
