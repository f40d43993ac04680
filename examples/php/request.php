<?php
// One page request of a shop, the way PHP-FPM serves it: this process
// creates its engine over Redis, handles ONE request, prints the answer as
// one line, and exits. Whatever the visitor did before was recorded by
// other processes (other workers, other servers) in the same Redis.
//
//   php examples/php/request.php [OPTIONS] [ROW]
//
// ROW is one row of the event log (docs/event-log.md), as CSV:
//
//   1700000100000,v17,page_view,/help/returns,https://www.google.com/
//
// read from the argument or, without one, from the first line of standard
// input. The event is observed; after a visitor's own action (page_view,
// search, cart, help_contact, purchase) the engine is asked whether to
// offer help, as a page would ask before it renders; an offer's outcome
// (offer_shown, offer_accepted, offer_declined, offer_ignored) and an
// agents report are only recorded. With --decide the request only asks:
// the ROW's ts_ms and visitor are the time and visitor (the widget's timer
// calling back at a recheck time), the rest of the row may be left out.
//
// Options:
//   --redis=URL    the Redis store (else $BECKON_REDIS_URL; required), e.g.
//                  redis://127.0.0.1:6379/0?prefix=shop1:
//   --policy=FILE  a policy file, binary or text (else $BECKON_POLICY, else
//                  the built-in default policy)
//   --lib=PATH     libbeckon_c (else $BECKON_LIB, else what
//                  Beckon\Library::get() finds: the library PHP preloaded
//                  with ffi.preload=beckon_ffi.h, else $BECKON_LIBRARY,
//                  else libbeckon_c.so.0 through the dynamic loader)
//   --decide       ask only, as above
//   --timing       also print to stderr how long the library load, the
//                  engine's creation and the request took, in microseconds
//
// The line printed:
//
//   <ts_ms> <visitor> <event> -> <action> <reason> p=<p> t=<threshold>
//       [recheck=<ts_ms>] | <reason text>; <reason text>...   (a decision)
//   <ts_ms> <visitor> <event> -> ok                         (recorded only)
//   <ts_ms> <visitor> <event> -> <STATUS>: <message>        (not recorded)
//
// ("-" stands for the empty visitor of an agents report; <event> is
// "decide" with --decide.) A rejected or unrecorded event is an answer, not
// a failure: the exit status is 0. A bad row, a bad option or a library
// that cannot be loaded exit 2 with a message on stderr.
//
// It runs on the PHP package (bindings/php). examples/php/fpm_driver.php
// plays many visitors' sessions through this script, each request in a
// fresh php process; docs/php.md ("PHP-FPM") and docs/operations.md
// ("Per-request engines") say what creating an engine per request costs.

declare(strict_types=1);

require __DIR__ . '/../../bindings/php/autoload.php';

use Beckon\BeckonException;
use Beckon\Channel;
use Beckon\Decision;
use Beckon\Engine;
use Beckon\EngineOptions;
use Beckon\Library;

// Events after which the page asks for a decision.
const ASKING = ['page_view', 'search', 'cart', 'help_contact', 'purchase'];

final class UsageError extends RuntimeException
{
}

// The engine call for one row: a function of the engine.
function observe_call(array $row): Closure
{
    [$ts, $visitor, $event, $page, $detail] = $row;
    $channel = static function () use ($detail): Channel {
        try {
            return Channel::fromName($detail);
        } catch (BeckonException) {
            throw new UsageError("unknown channel \"$detail\"");
        }
    };
    $number = static function () use ($detail, $event): float {
        if (!is_numeric($detail)) {
            throw new UsageError("$event needs a number, got \"$detail\"");
        }
        return (float)$detail;
    };
    $integer = static function () use ($detail, $event): int {
        if (preg_match('/^-?\d+$/', $detail) !== 1) {
            throw new UsageError("$event needs an integer, got \"$detail\"");
        }
        return (int)$detail;
    };
    switch ($event) {
        case 'page_view':
            $referrer = $detail === '' ? null : $detail;
            return fn (Engine $e) => $e->pageView($ts, $visitor, $page, $referrer);
        case 'search':
            $n = $integer();
            return fn (Engine $e) => $e->search($ts, $visitor, $page, $n);
        case 'cart':
            $v = $number();
            return fn (Engine $e) => $e->cart($ts, $visitor, $page, $v);
        case 'purchase':
            $v = $number();
            return fn (Engine $e) => $e->purchase($ts, $visitor, $page, $v);
        case 'help_contact':
        case 'offer_shown':
        case 'offer_accepted':
        case 'offer_declined':
        case 'offer_ignored':
            $c = $channel();
            $method = lcfirst(str_replace('_', '', ucwords($event, '_')));
            return fn (Engine $e) => $e->$method($ts, $visitor, $page, $c);
        case 'agents':
            $n = $integer();
            return fn (Engine $e) => $e->agents($ts, $n);
    }
    throw new UsageError("unknown event \"$event\"");
}

// Parses ROW: [ts_ms, visitor, event, page, detail].
function parse_row(string $line, bool $decideOnly): array
{
    $fields = str_getcsv(rtrim($line, "\r\n"), ',', '"', '');
    $fields += ['', '', '', '', ''];
    if (count($fields) > 5) {
        throw new UsageError('a row has 5 fields: ts_ms,visitor,event,page,'
                             . 'detail; got ' . count($fields));
    }
    $fields = array_map(static fn ($f) => (string)$f, $fields);
    if (preg_match('/^\d{1,18}$/', $fields[0]) !== 1) {
        throw new UsageError("ts_ms must be an integer, got \"$fields[0]\"");
    }
    $fields[0] = (int)$fields[0];
    if ($decideOnly) {
        $fields[2] = 'decide';
    }
    return $fields;
}

function decision_line(Decision $d): string
{
    $out = sprintf('%s %s p=%.4F t=%.4F', $d->action, $d->reason,
                   $d->probability, $d->threshold);
    if ($d->recheckAtMs !== null) {
        $out .= " recheck=$d->recheckAtMs";
    }
    return $out . ' | ' . implode('; ', $d->reasons());
}

// The library: $lib if given, else what Library::get() finds: the one PHP
// preloaded at its start (ffi.preload=beckon_ffi.h: loaded once per
// PHP-FPM master, not per request), else $BECKON_LIBRARY, else
// libbeckon_c.so.0 through the dynamic loader.
function library(string $lib): Library
{
    return $lib !== '' ? Library::load($lib) : Library::get();
}

function main(array $argv): int
{
    $options = ['lib' => getenv('BECKON_LIB') ?: '',
                'redis' => getenv('BECKON_REDIS_URL') ?: '',
                'policy' => getenv('BECKON_POLICY') ?: ''];
    $decideOnly = false;
    $timing = false;
    $line = null;
    foreach (array_slice($argv, 1) as $arg) {
        if (preg_match('/^--(lib|redis|policy)=(.*)$/s', $arg, $m) === 1) {
            $options[$m[1]] = $m[2];
        } elseif ($arg === '--decide') {
            $decideOnly = true;
        } elseif ($arg === '--timing') {
            $timing = true;
        } elseif (str_starts_with($arg, '--')) {
            throw new UsageError("unknown option $arg");
        } elseif ($line === null) {
            $line = $arg;
        } else {
            throw new UsageError('one request per process: give one ROW');
        }
    }
    if ($options['redis'] === '') {
        throw new UsageError('needs the Redis store: --redis=URL or '
                             . '$BECKON_REDIS_URL (each request is its own '
                             . 'process; in memory it would forget everything)');
    }
    $line ??= fgets(STDIN);
    if ($line === false || trim($line) === '') {
        throw new UsageError('no ROW given (argument or standard input)');
    }
    $row = parse_row($line, $decideOnly);
    [$ts, $visitor, $event] = $row;
    $call = $decideOnly ? null : observe_call($row);

    $t0 = hrtime(true);
    $b = library($options['lib']);
    $t1 = hrtime(true);
    // The Redis store: the request's engine holds no visitor of its own.
    $store = EngineOptions::perRequest($options['redis'], $b);
    $engine = $options['policy'] !== ''
        ? Engine::fromPolicyFile($options['policy'], $store, $b)
        : new Engine(null, $store, $b);
    $t2 = hrtime(true);

    $answer = 'ok';
    try {
        if ($call !== null) {
            $call($engine);
        }
        if ($call === null || in_array($event, ASKING, true)) {
            $answer = decision_line($engine->decide($visitor, $ts));
        }
    } catch (BeckonException $e) {
        // "INVALID_ARGUMENT: time went ..."
        $answer = "{$e->getStatus()}: {$e->getMessage()}";
    }
    $t3 = hrtime(true);
    printf("%d %s %s -> %s\n", $ts, $visitor === '' ? '-' : $visitor,
           $event, $answer);
    if ($timing) {
        fprintf(STDERR, "timing: load_us=%.1f create_us=%.1f request_us=%.1f\n",
                ($t1 - $t0) / 1e3, ($t2 - $t1) / 1e3, ($t3 - $t2) / 1e3);
    }
    return 0;
}

try {
    exit(main($argv));
} catch (UsageError | BeckonException $e) {
    fwrite(STDERR, "request.php: {$e->getMessage()}\n");
    exit(2);
}
