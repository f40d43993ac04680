<?php
// One page request of a shop, the way PHP-FPM serves it: this process
// creates its engine over Redis, handles ONE request, prints the answer as
// one line, and exits. Whatever the visitor did before was recorded by
// other processes (other workers, other servers) in the same Redis.
//
//   php -d ffi.enable=1 examples/php/request.php [OPTIONS] [ROW]
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
//   --lib=PATH     libbeckon_c (else $BECKON_LIB, else the library PHP
//                  preloaded with ffi.preload=beckon_ffi.h, else
//                  libbeckon_c.so.0 through the dynamic loader)
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
// examples/php/fpm_driver.php plays many visitors' sessions through this
// script, each request in a fresh php process; docs/operations.md
// ("Per-request engines") says what creating an engine per request costs.

declare(strict_types=1);

require __DIR__ . '/beckon.php';

const CHANNELS = ['' => Beckon::CHANNEL_UNSPECIFIED,
                  'chat' => Beckon::CHANNEL_CHAT,
                  'call' => Beckon::CHANNEL_CALL,
                  'email' => Beckon::CHANNEL_EMAIL,
                  'form' => Beckon::CHANNEL_FORM];
// Events after which the page asks for a decision.
const ASKING = ['page_view', 'search', 'cart', 'help_contact', 'purchase'];

final class UsageError extends RuntimeException
{
}

// The C call and its arguments for one row: [kind, args...].
function observe_call(array $row): array
{
    [$ts, $visitor, $event, $page, $detail] = $row;
    $channel = static function () use ($detail): int {
        if (!array_key_exists($detail, CHANNELS)) {
            throw new UsageError("unknown channel \"$detail\"");
        }
        return CHANNELS[$detail];
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
    return match ($event) {
        'page_view' => ['page_view', $ts, $visitor, $page,
                        $detail === '' ? null : $detail],
        'search' => ['search', $ts, $visitor, $page, $integer()],
        'cart' => ['cart', $ts, $visitor, $page, $number()],
        'purchase' => ['purchase', $ts, $visitor, $page, $number()],
        'help_contact', 'offer_shown', 'offer_accepted', 'offer_declined',
        'offer_ignored' => [$event, $ts, $visitor, $page, $channel()],
        'agents' => ['agents', $ts, $integer()],
        default => throw new UsageError("unknown event \"$event\""),
    };
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
    return $out . ' | ' . implode('; ', $d->reasons);
}

// The library: $lib if given, else the one PHP preloaded at its start
// (ffi.preload=beckon_ffi.h: loaded once per PHP-FPM master, not per
// request), else libbeckon_c.so.0 through the dynamic loader.
function library(string $lib): Beckon
{
    if ($lib !== '') {
        return Beckon::load($lib);
    }
    try {
        return Beckon::preloaded();
    } catch (FFI\Exception) {
        return Beckon::load('libbeckon_c.so.0');
    }
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
    $engine = new Engine($b, policyFile: $options['policy'] ?: null,
                         redisUrl: $options['redis']);
    $t2 = hrtime(true);

    $answer = 'ok';
    try {
        if ($call !== null) {
            $engine->observe(...$call);
        }
        if ($call === null || in_array($event, ASKING, true)) {
            $answer = decision_line($engine->decide($visitor, $ts));
        }
    } catch (BeckonError $e) {
        $answer = $e->getMessage();  // "INVALID_ARGUMENT: time went ..."
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
} catch (UsageError | BeckonError | FFI\Exception $e) {
    fwrite(STDERR, "request.php: {$e->getMessage()}\n");
    exit(2);
}
