<?php
// Plays many visitors' sessions against one Redis the way a PHP-FPM shop
// serves them: every request is a fresh `php request.php` process (its own
// engine, one request, exit), several processes run at once (visitors in
// parallel, each visitor's requests in order), and all of them share the
// visitors' state through Redis only.
//
//   php examples/php/fpm_driver.php --lib=PATH --redis=URL [OPTIONS]
//
// Options:
//   --lib=PATH       libbeckon_c, for request.php
//   --redis=URL      the Redis store (use a prefix nobody else writes under)
//   --policy=FILE    a policy file for every request (else the default)
//   --visitors=N     visitors to generate (default 50)
//   --seed=S         seed of the generated sessions (default 1)
//   --sessions=FILE  play this event log instead of generating sessions
//   --write-sessions=FILE  write the generated sessions there (event log)
//   --jobs=N         php processes at once (default 4)
//
// The sessions are an event log (docs/event-log.md) of what visitors do:
// pages, searches, carts, help contacts, purchases, and agents reports
// (played first, before any visitor, so that every visitor sees them). Each
// visitor's id ends with a persona, "v07-decliner", which says how the
// visitor answers an offer. The driver plays each visitor's rows in order,
// as the visitor's browser and the chat widget would:
//
//   1. a row is one request (request.php ROW): the event is observed and,
//      for the visitor's own actions, a decision made;
//   2. a "wait" with a recheck time earlier than the visitor's next row (or
//      with no row left) sets the widget's timer: a request at that time
//      (request.php --decide), at most 3 in a row;
//   3. an "offer" is shown (offer_shown at the offer's time) and answered
//      by the persona 5 s later, or at the next row's time if that is
//      sooner: decliner and returner decline, ignorer ignores, acceptor
//      accepts; the others leave it unanswered.
//
// It prints every request's line (request.php's), the agents reports first,
// then visitor by visitor in id order, each visitor's requests in the order
// they were made: the same lines, in the same order, that
// tests/c/fpm_reference.cc prints playing the same sessions in one process
// on the in-memory store. A summary goes to stderr.

declare(strict_types=1);

const T0 = 1700000000000;  // A Tuesday in November 2023.
const SEC = 1000;
const MAX_TIMER_FIRES = 3;
const ANSWER_DELAY_MS = 5 * SEC;
const REACTIONS = ['decliner' => 'offer_declined',
                   'returner' => 'offer_declined',
                   'ignorer' => 'offer_ignored',
                   'acceptor' => 'offer_accepted'];
const PERSONAS = ['browser', 'buyer', 'stuck', 'decliner', 'returner',
                  'ignorer', 'acceptor', 'helpseeker', 'searcher', 'stalled'];

final class DriverError extends RuntimeException
{
}

// --- The sessions ---------------------------------------------------------

// One visitor's script: [seconds after the previous row, event, page,
// detail] rows, by persona. Dwell times and products vary with the seed.
function script(string $persona): array
{
    $p = static fn () => '/p/' . mt_rand(1000, 9999);
    $s = static fn (int $lo, int $hi) => mt_rand($lo, $hi);
    $google = 'https://www.google.com/search?q=shop+returns';
    $stuck = [[0, 'page_view', '/', $google],
              [$s(10, 30), 'page_view', $p(), ''],
              [$s(20, 60), 'search', '/search?q=return+label', '0'],
              [$s(10, 20), 'search', '/search?q=returns', '0'],
              [$s(10, 20), 'page_view', '/help/returns', '']];
    $later = static fn (int $days) => [
        [$days * 86400, 'page_view', '/checkout/payment', ''],
        [$s(30, 90), 'page_view', '/help/shipping', ''],
        [$s(60, 120), 'page_view', '/contact', '']];
    switch ($persona) {
        case 'browser':
            return [[0, 'page_view', '/', ''],
                    [$s(10, 40), 'page_view', '/c/shoes', ''],
                    [$s(15, 60), 'page_view', $p(), ''],
                    [$s(15, 60), 'page_view', $p(), '']];
        case 'buyer':
            $value = sprintf('%d.%02d', mt_rand(10, 300), mt_rand(0, 99));
            return [[0, 'page_view', '/c/shirts', ''],
                    [$s(10, 40), 'page_view', $p(), ''],
                    [$s(20, 60), 'cart', '/cart', $value],
                    [$s(10, 30), 'page_view', '/checkout/address', ''],
                    [$s(20, 50), 'page_view', '/checkout/payment', ''],
                    [$s(20, 40), 'purchase', '/checkout/done', $value]];
        case 'stuck':
        case 'acceptor':
            return [...$stuck, [$s(200, 400), 'page_view', $p(), '']];
        case 'decliner':
            // Declines, browses on (still declined), comes back two days
            // later (still declined).
            return [...$stuck, [$s(150, 300), 'page_view', $p(), ''],
                    ...$later(2)];
        case 'returner':
            // Declines; three days later still declined; 35 days later,
            // past the 30-day cooldown, eligible again.
            return [...$stuck, ...$later(3), ...$later(35)];
        case 'ignorer':
            // Ignores offers: two ignores are the cap for a week.
            return [...$stuck, ...$later(1), ...$later(1),
                    ...$later(10)];
        case 'helpseeker':
            return [[0, 'page_view', '/faq/sizes', ''],
                    [$s(20, 60), 'page_view', '/help/shipping', ''],
                    [$s(20, 60), 'help_contact', '/help/shipping', 'chat'],
                    [$s(60, 120), 'page_view', '/help/returns', '']];
        case 'searcher':
            return [[0, 'search', '/search?q=red+shoes', (string)mt_rand(3, 40)],
                    [$s(5, 20), 'page_view', $p(), ''],
                    [$s(20, 60), 'search', '/search?q=shoes+46', (string)mt_rand(1, 9)],
                    [$s(5, 20), 'page_view', $p(), '']];
        case 'stalled':
            $value = sprintf('%d.%02d', mt_rand(40, 500), mt_rand(0, 99));
            return [[0, 'page_view', $p(), ''],
                    [$s(20, 60), 'cart', '/cart', $value],
                    [$s(10, 30), 'page_view', '/checkout/address', ''],
                    [$s(1, 3), 'page_view', '/checkout/address', ''],
                    [$s(2, 5), 'page_view', '/checkout/address', '']];
    }
    throw new DriverError("unknown persona $persona");
}

// The generated sessions as event-log rows [ts_ms, visitor, event, page,
// detail]: an agents report (plenty: no rate cap, no scarcity), then the
// visitors, starting 7 s apart.
function generate_sessions(int $visitors, int $seed): array
{
    mt_srand($seed, MT_RAND_MT19937);
    $rows = [[T0 - SEC, '', 'agents', '', '100']];
    for ($v = 0; $v < $visitors; ++$v) {
        $persona = PERSONAS[$v % count(PERSONAS)];
        $id = sprintf('v%02d-%s', $v + 1, $persona);
        $t = T0 + $v * 7 * SEC;
        foreach (script($persona) as [$dt, $event, $page, $detail]) {
            $t += $dt * SEC;
            $rows[] = [$t, $id, $event, $page, $detail];
        }
    }
    return $rows;
}

function write_sessions(string $path, array $rows): void
{
    $f = fopen($path, 'wb') ?: throw new DriverError("cannot write $path");
    fwrite($f, "ts_ms,visitor,event,page,detail\n");
    foreach ($rows as $row) {
        fputcsv($f, $row, ',', '"', '');
    }
    fclose($f);
}

function read_sessions(string $path): array
{
    $f = fopen($path, 'rb') ?: throw new DriverError("cannot read $path");
    $header = fgets($f);
    if ($header === false || rtrim($header, "\r\n") !== 'ts_ms,visitor,event,page,detail') {
        throw new DriverError("$path is not an event log (header)");
    }
    $rows = [];
    while (($fields = fgetcsv($f, null, ',', '"', '')) !== false) {
        if ($fields === [null]) {
            continue;  // A blank line.
        }
        $rows[] = array_map('strval', $fields + ['', '', '', '', '']);
    }
    fclose($f);
    return $rows;
}

function row_csv(array $row): string
{
    $f = fopen('php://memory', 'w+b');
    fputcsv($f, $row, ',', '"', '');
    rewind($f);
    $line = rtrim(stream_get_contents($f), "\n");
    fclose($f);
    return $line;
}

// --- One visitor's requests -----------------------------------------------

// What a visitor's browser and widget do next, given the answers so far.
final class Visitor
{
    /** @var array[] the visitor's rows, in order */
    private array $rows = [];
    private int $next = 0;       // The next row to send.
    private ?int $timer = null;  // A recheck time to call back at.
    private int $fires = 0;      // Timer requests since the last row.
    private array $queue = [];   // Offer outcome rows to send first.
    private string $page = '';   // The page of the last row sent.
    public array $lines = [];    // The answers, in order.

    public function __construct(public readonly string $id)
    {
    }

    public function add(array $row): void
    {
        $this->rows[] = $row;
    }

    // The next request: [ROW, decide-only], or null when done.
    public function nextRequest(): ?array
    {
        if ($this->queue !== []) {
            return [array_shift($this->queue), false];
        }
        $timer = $this->timer;
        $this->timer = null;
        $nextTs = $this->rows[$this->next][0] ?? null;
        if ($timer !== null && $this->fires < MAX_TIMER_FIRES &&
            ($nextTs === null || $timer < (int)$nextTs)) {
            ++$this->fires;
            return [[$timer, $this->id, '', '', ''], true];
        }
        if ($nextTs === null) {
            return null;
        }
        $this->fires = 0;
        $row = $this->rows[$this->next++];
        $this->page = $row[3];
        return [$row, false];
    }

    // Takes request.php's answer line.
    public function answer(string $line): void
    {
        $this->lines[] = $line;
        if (preg_match('/ -> (offer|wait|suppress) /', $line, $m) !== 1) {
            return;  // Recorded only, or rejected.
        }
        if (preg_match('/ recheck=(\d+) /', $line, $r) === 1) {
            $this->timer = (int)$r[1];
        }
        if ($m[1] === 'offer') {
            $this->offered((int)strtok($line, ' '));
        }
    }

    private function offered(int $ts): void
    {
        $this->queue[] = [$ts, $this->id, 'offer_shown', $this->page, 'chat'];
        $persona = substr($this->id, strpos($this->id, '-') + 1);
        $reaction = REACTIONS[$persona] ?? null;
        if ($reaction !== null) {
            $nextTs = $this->rows[$this->next][0] ?? PHP_INT_MAX;
            $at = min($ts + ANSWER_DELAY_MS, (int)$nextTs);
            $this->queue[] = [$at, $this->id, $reaction, $this->page, 'chat'];
        }
    }
}

// --- Running request.php processes ----------------------------------------

final class Runner
{
    private array $base;
    public int $started = 0;

    public function __construct(string $lib, string $redis, string $policy)
    {
        $this->base = [PHP_BINARY, '-d', 'ffi.enable=1',
                       __DIR__ . '/request.php', "--lib=$lib",
                       "--redis=$redis"];
        if ($policy !== '') {
            $this->base[] = "--policy=$policy";
        }
    }

    // Starts request.php for one request; returns [process, stdout, stderr].
    public function start(array $row, bool $decideOnly): array
    {
        $cmd = $this->base;
        if ($decideOnly) {
            $cmd[] = '--decide';
        }
        $cmd[] = row_csv($row);
        $pipes = [];
        $proc = proc_open($cmd, [0 => ['file', '/dev/null', 'r'],
                                 1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
                          $pipes);
        if ($proc === false) {
            throw new DriverError('cannot start php');
        }
        ++$this->started;
        return [$proc, $pipes[1], $pipes[2], $cmd];
    }

    // Waits for a started request; returns its one line.
    public function finish(array $running): string
    {
        [$proc, $out, $err, $cmd] = $running;
        $stdout = stream_get_contents($out);
        $stderr = stream_get_contents($err);
        fclose($out);
        fclose($err);
        $status = proc_close($proc);
        $lines = explode("\n", rtrim($stdout, "\n"));
        if ($status !== 0 || $stderr !== '' || count($lines) !== 1 ||
            $lines[0] === '') {
            throw new DriverError('request failed (exit ' . $status . '): '
                                  . implode(' ', $cmd) . "\n" . $stderr
                                  . $stdout);
        }
        return $lines[0];
    }
}

// Plays the visitors, up to $jobs requests at once, one per visitor.
function play(Runner $runner, array $visitors, int $jobs): void
{
    $waiting = $visitors;  // Not started yet, in id order.
    $running = [];         // Visitor id => [visitor, process...].
    while ($waiting !== [] || $running !== []) {
        while (count($running) < $jobs && $waiting !== []) {
            $v = array_shift($waiting);
            $request = $v->nextRequest();
            if ($request !== null) {
                $running[$v->id] = [$v, $runner->start(...$request)];
            }
        }
        if ($running === []) {
            continue;
        }
        // Wait until some request has written its answer (or ended).
        $read = array_map(static fn ($r) => $r[1][1], $running);
        $write = $except = null;
        if (stream_select($read, $write, $except, 10) === false) {
            throw new DriverError('stream_select failed');
        }
        foreach ($running as $id => [$v, $proc]) {
            if (!in_array($proc[1], $read, true)) {
                continue;
            }
            unset($running[$id]);
            $v->answer($runner->finish($proc));
            $request = $v->nextRequest();
            if ($request !== null) {
                $running[$id] = [$v, $runner->start(...$request)];
            }
        }
    }
}

function main(array $argv): int
{
    $o = ['lib' => '', 'redis' => '', 'policy' => '', 'visitors' => '50',
          'seed' => '1', 'sessions' => '', 'write-sessions' => '',
          'jobs' => '4'];
    foreach (array_slice($argv, 1) as $arg) {
        if (preg_match('/^--([a-z-]+)=(.*)$/s', $arg, $m) !== 1 ||
            !array_key_exists($m[1], $o)) {
            throw new DriverError("unknown argument $arg");
        }
        $o[$m[1]] = $m[2];
    }
    foreach (['lib', 'redis'] as $required) {
        if ($o[$required] === '') {
            throw new DriverError("--$required is required");
        }
    }
    foreach (['visitors', 'seed', 'jobs'] as $n) {
        if (preg_match('/^\d+$/', $o[$n]) !== 1 || ($n === 'jobs' && (int)$o[$n] < 1)) {
            throw new DriverError("--$n must be a positive integer");
        }
    }
    $rows = $o['sessions'] !== ''
        ? read_sessions($o['sessions'])
        : generate_sessions((int)$o['visitors'], (int)$o['seed']);
    if ($o['write-sessions'] !== '') {
        write_sessions($o['write-sessions'], $rows);
    }

    $runner = new Runner($o['lib'], $o['redis'], $o['policy']);
    $start = hrtime(true);
    $site = [];
    $visitors = [];
    foreach ($rows as $row) {
        if ($row[2] === 'agents') {
            $site[] = $row;
        } else {
            $visitors[$row[1]] ??= new Visitor($row[1]);
            $visitors[$row[1]]->add($row);
        }
    }
    ksort($visitors, SORT_STRING);
    // Site-wide reports first, one at a time, so every visitor sees them.
    foreach ($site as $row) {
        echo $runner->finish($runner->start($row, false)), "\n";
    }
    play($runner, array_values($visitors), (int)$o['jobs']);
    foreach ($visitors as $v) {
        foreach ($v->lines as $line) {
            echo $line, "\n";
        }
    }
    $s = (hrtime(true) - $start) / 1e9;
    fprintf(STDERR, "fpm_driver: %d visitors, %d requests, each a php process, "
            . "%d at once: %.1f s (%.1f ms per request, %.0f requests/s)\n",
            count($visitors), $runner->started, (int)$o['jobs'], $s,
            1e3 * $s / max(1, $runner->started),
            $runner->started / max($s, 1e-9));
    return 0;
}

try {
    exit(main($argv));
} catch (DriverError $e) {
    fwrite(STDERR, "fpm_driver: {$e->getMessage()}\n");
    exit(1);
}
