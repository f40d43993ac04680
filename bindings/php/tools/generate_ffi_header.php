<?php
// Generates the FFI-ready header of the PHP package (src/beckon_ffi.h) from
// the C ABI's header, include/beckon/beckon.h. PHP's FFI parses C
// declarations but no preprocessor lines, so the C preprocessor runs first
// (`CC -E -P -undef`: no compiler macros, hence no __attribute__ and no
// extern "C"; the #include lines are dropped, FFI knows the fixed-width
// types), then the declarations are printed in one layout of their own, so
// that the result does not depend on the preprocessor's spacing. The ABI
// version (include/beckon/version.h) names the library in FFI_LIB.
//
//   php generate_ffi_header.php --header=include/beckon/beckon.h
//       [--cc=cc] (--out=FILE | --check=FILE)
//
// --out writes the header; --check compares FILE with what would be
// written and exits 1 with a diff when they differ (the ctest
// php_ffi_header_current runs it on the committed src/beckon_ffi.h).

declare(strict_types=1);

const UPDATE_HINT = 'cmake --build build --target php_ffi_header_update';

function fail(string $message, int $status = 2): never
{
    fwrite(STDERR, "generate_ffi_header: $message\n");
    exit($status);
}

function preprocess(string $cc, string $source): string
{
    // Only the declarations: the includes are stddef.h, stdint.h and
    // version.h (macros only).
    $input = preg_replace('/^\s*#\s*include\b.*$/m', '', $source);
    $cmd = [...preg_split('/\s+/', trim($cc)), '-E', '-P', '-undef', '-x', 'c', '-'];
    $proc = proc_open($cmd, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'],
                             2 => ['pipe', 'w']], $pipes);
    if ($proc === false) {
        fail('cannot run ' . implode(' ', $cmd));
    }
    fwrite($pipes[0], $input);
    fclose($pipes[0]);
    $out = stream_get_contents($pipes[1]);
    $err = stream_get_contents($pipes[2]);
    fclose($pipes[1]);
    fclose($pipes[2]);
    if (proc_close($proc) !== 0) {
        fail(implode(' ', $cmd) . " failed:\n$err");
    }
    return $out;
}

// Splits the preprocessed text into top-level declarations (ending with a
// ';' outside braces and parentheses), whitespace collapsed.
function declarations(string $text): array
{
    $text = trim(preg_replace('/\s+/', ' ', $text));
    $decls = [];
    $depth = 0;
    $start = 0;
    for ($i = 0, $n = strlen($text); $i < $n; ++$i) {
        $c = $text[$i];
        if ($c === '{' || $c === '(') {
            ++$depth;
        } elseif ($c === '}' || $c === ')') {
            --$depth;
        } elseif ($c === ';' && $depth === 0) {
            $decls[] = trim(substr($text, $start, $i - $start));
            $start = $i + 1;
        }
    }
    if (trim(substr($text, $start)) !== '' || $depth !== 0) {
        fail('unbalanced declarations after preprocessing');
    }
    return $decls;
}

function tidy(string $s): string
{
    $s = preg_replace('/\s*([(),\[\]])\s*/', '$1', $s);
    $s = str_replace(',', ', ', $s);
    return trim($s);
}

function render(array $decls): string
{
    $out = [];
    foreach ($decls as $d) {
        foreach (['#', '__attribute__', 'extern', '__declspec'] as $bad) {
            if (str_contains($d, $bad)) {
                fail("\"$bad\" left after preprocessing in: $d");
            }
        }
        $open = strpos($d, '{');
        if ($open === false) {
            $out[] = tidy($d) . ';';
            continue;
        }
        $close = strrpos($d, '}');
        $head = tidy(substr($d, 0, $open));
        $body = substr($d, $open + 1, $close - $open - 1);
        $tail = tidy(substr($d, $close + 1));
        if (str_contains($body, '{')) {
            fail("nested braces are not supported: $d");
        }
        if (preg_match('/\benum\b/', $head) === 1) {
            $items = array_values(array_filter(array_map('trim',
                                                         explode(',', $body))));
            $lines = array_map(static fn ($x) => '  ' . tidy($x), $items);
            $body = implode(",\n", $lines);
        } else {
            $items = array_values(array_filter(array_map('trim',
                                                         explode(';', $body))));
            $body = implode("\n", array_map(static fn ($x) => '  ' . tidy($x) . ';',
                                            $items));
        }
        $out[] = "\n$head {\n$body\n}" . ($tail === '' ? '' : " $tail") . ";\n";
    }
    return preg_replace("/\n{3,}/", "\n\n", trim(implode("\n", $out))) . "\n";
}

function abi_version(string $header): int
{
    $version = dirname($header) . '/version.h';
    $text = @file_get_contents($version);
    if ($text === false ||
        preg_match('/#define BECKON_ABI_VERSION (\d+)/', $text, $m) !== 1) {
        fail("cannot read BECKON_ABI_VERSION from $version");
    }
    return (int)$m[1];
}

function generate(string $cc, string $header): string
{
    $source = @file_get_contents($header);
    if ($source === false) {
        fail("cannot read $header");
    }
    $abi = abi_version($header);
    $decls = render(declarations(preprocess($cc, $source)));
    $hint = UPDATE_HINT;
    return <<<EOT
    #define FFI_SCOPE "beckon"
    #define FFI_LIB "libbeckon_c.so.$abi"
    /* The C ABI of include/beckon/beckon.h in the form PHP's FFI reads.
     * GENERATED by bindings/php/tools/generate_ffi_header.php (the C
     * preprocessor over beckon.h); do not edit. After a change to beckon.h:
     *   $hint
     * The test php_ffi_header_current fails while this file differs.
     * FFI_SCOPE and FFI_LIB (the library as the dynamic loader finds it) are
     * for ffi.preload and FFI::load(); Beckon\Library strips them for
     * FFI::cdef(). See docs/php.md. */

    $decls
    EOT;
}

$opts = getopt('', ['cc:', 'header:', 'out:', 'check:']);
$header = $opts['header'] ?? fail('--header=FILE is required');
$cc = $opts['cc'] ?? (getenv('CC') ?: 'cc');
$text = generate($cc, $header);
if (isset($opts['out'])) {
    $tmp = $opts['out'] . '.tmp';
    if (file_put_contents($tmp, $text) === false || !rename($tmp, $opts['out'])) {
        fail("cannot write {$opts['out']}");
    }
    exit(0);
}
if (isset($opts['check'])) {
    $file = $opts['check'];
    $current = @file_get_contents($file);
    if ($current === $text) {
        echo "OK: $file is what beckon.h generates\n";
        exit(0);
    }
    $tmp = tempnam(sys_get_temp_dir(), 'beckon_ffi');
    file_put_contents($tmp, $text);
    fwrite(STDERR, "FAIL: $file is not what $header generates "
           . "(- committed, + generated):\n");
    passthru('diff -u ' . escapeshellarg($file) . ' ' . escapeshellarg($tmp)
             . ' >&2');
    unlink($tmp);
    fwrite(STDERR, "Regenerate it with: " . UPDATE_HINT . "\n");
    exit(1);
}
fail('one of --out=FILE and --check=FILE is required');
