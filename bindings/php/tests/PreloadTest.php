<?php

declare(strict_types=1);

namespace Beckon\Tests;

use Beckon\Library;

/**
 * Loading the library once at PHP's start, in fresh PHP processes: the
 * command line (php) and a web SAPI (php-cgi, where the default
 * ffi.enable=preload forbids FFI::cdef() outside preloading, as in
 * PHP-FPM). Each process runs tests/fixtures/request.php, which prints
 * where the library came from and plays a visitor to an offer.
 */
final class PreloadTest extends TestCase
{
    private const EXPECTED = 'wait offer score';

    private static function fixture(): string
    {
        return __DIR__ . '/fixtures/request.php';
    }

    private static function libDir(): string
    {
        return dirname(self::libraryPath());
    }

    private function cgi(): string
    {
        $cgi = trim((string)shell_exec('command -v php-cgi'));
        if ($cgi === '') {
            $this->markTestSkipped('php-cgi is not installed (Debian: php-cgi; '
                                   . 'scripts/setup.sh installs it)');
        }
        return $cgi;
    }

    /** @param list<string> $cmd */
    private function request(array $cmd, array $env = []): string
    {
        [$status, $out, $err] = self::runCommand(
            [...$cmd, self::fixture()],
            // The library by its soname, through the loader's path (as an
            // installed one would be found); no BECKON_LIBRARY unless given.
            [...['LD_LIBRARY_PATH' => self::libDir(), 'BECKON_LIBRARY' => ''],
             ...$env]);
        $this->assertSame(0, $status, $out . $err);
        return trim($out);
    }

    public function testFfiPreloadOnTheCommandLine(): void
    {
        $out = $this->request([PHP_BINARY, '-d', 'ffi.preload=' . Library::HEADER]);
        $this->assertSame('source=scope classes=autoloaded ' . self::EXPECTED, $out);
    }

    public function testWithoutPreloadTheCommandLineLoadsPerProcess(): void
    {
        $out = $this->request([PHP_BINARY]);
        $this->assertSame('source=path classes=autoloaded ' . self::EXPECTED, $out);
    }

    /**
     * A web SAPI with the default ffi.enable=preload: FFI (FFI::cdef(), and
     * FFI::scope() too) only from preloaded code.
     *
     * @return array<string, array{list<string>}>
     */
    public static function restricted(): array
    {
        return [
            'nothing preloaded' => [[]],
            'ffi.preload only' => [['-d', 'ffi.preload=' . Library::HEADER]],
        ];
    }

    /** @dataProvider restricted */
    public function testAWebSapiUnderFfiEnablePreloadNeedsThePreloadedClasses(array $ini): void
    {
        $out = $this->request([$this->cgi(), '-q', '-d', 'ffi.enable=preload', ...$ini]);
        $this->assertSame('error=Beckon\Exception\LibraryException: cannot load libbeckon_c: '
            . 'FFI is restricted by ffi.enable=preload here (only preloaded code may use it); '
            . 'preload beckon: ffi.preload=' . Library::HEADER . ' and opcache.preload='
            . dirname(Library::HEADER, 2) . '/preload.php, or set ffi.enable=1 (docs/php.md)',
            $out);
    }

    /** With ffi.enable=1, ffi.preload of the package's header is enough. */
    public function testAWebSapiWithFfiEnabledAndFfiPreload(): void
    {
        $out = $this->request([$this->cgi(), '-q', '-d', 'ffi.enable=1',
                               '-d', 'ffi.preload=' . Library::HEADER]);
        $this->assertSame('source=scope classes=autoloaded ' . self::EXPECTED, $out);
    }

    /**
     * The default ffi.enable=preload, as PHP-FPM would run it: ffi.preload
     * of the header and opcache.preload=preload.php for the classes.
     */
    public function testAWebSapiWithOpcachePreload(): void
    {
        $cmd = [$this->cgi(), '-q', '-d', 'ffi.enable=preload',
                '-d', 'ffi.preload=' . Library::HEADER,
                '-d', 'opcache.enable=1',
                '-d', 'opcache.preload=' . __DIR__ . '/../preload.php'];
        if (function_exists('posix_geteuid') && posix_geteuid() === 0) {
            // PHP refuses to preload as root without a user to switch to.
            $cmd = [...$cmd, '-d', 'opcache.preload_user=root'];
        }
        $out = $this->request($cmd);
        $this->assertSame('source=scope classes=preloaded ' . self::EXPECTED, $out);
    }

    /** A library the loader does not find by name: headerFor()'s copy. */
    public function testFfiPreloadOfAHeaderNamingTheLibrary(): void
    {
        $header = $this->tmpPath('.h');
        file_put_contents($header, Library::headerFor(self::libraryPath()));
        $this->assertStringContainsString('#define FFI_LIB "' . self::libraryPath() . '"',
                                          file_get_contents($header));
        $out = $this->request([$this->cgi(), '-q', '-d', 'ffi.enable=1',
                               '-d', 'ffi.preload=' . $header],
                              ['LD_LIBRARY_PATH' => '']);
        $this->assertSame('source=scope classes=autoloaded ' . self::EXPECTED, $out);
    }

    /**
     * Root's PHP cannot show FFI::load() in a preload: as the user nobody
     * (runuser), in the command line and a web SAPI, if nobody can read the
     * package.
     */
    private function asNobody(): void
    {
        $runuser = trim((string)shell_exec('command -v runuser'));
        [$readable] = $runuser === '' ? [1] : self::runCommand(
            [$runuser, '-u', 'nobody', '--', 'test', '-r', self::fixture()]);
        if ($readable !== 0) {
            return;  // Not testable here; the root case above ran.
        }
        $cgi = trim((string)shell_exec('command -v php-cgi'));
        $sapis = [[PHP_BINARY, '-d', 'opcache.enable_cli=1']];
        if ($cgi !== '') {
            $sapis[] = [$cgi, '-q', '-d', 'opcache.enable=1'];
        }
        foreach ($sapis as $sapi) {
            [$status, $out, $err] = self::runCommand(
                [$runuser, '-u', 'nobody', '--', 'env',
                 'BECKON_LIBRARY=' . self::libraryPath(), ...$sapi,
                 '-d', 'opcache.preload=' . __DIR__ . '/../preload.php',
                 self::fixture()]);
            $this->assertSame([0, 'source=scope classes=preloaded ' . self::EXPECTED],
                              [$status, trim($out)], $sapi[0] . ': ' . $err);
        }
    }

    /** FFI::load() from preload.php where PHP preloads as itself. */
    public function testPreloadPhpLoadsTheLibraryItself(): void
    {
        if (function_exists('posix_geteuid') && posix_geteuid() === 0) {
            // As root PHP preloads only with opcache.preload_user, and then
            // refuses FFI::load(): preload.php logs it and carries on.
            [$status, $out, $err] = self::runCommand(
                [PHP_BINARY, '-d', 'opcache.enable_cli=1',
                 '-d', 'opcache.preload=' . __DIR__ . '/../preload.php',
                 '-d', 'opcache.preload_user=root', '-d', 'error_log=',
                 self::fixture()],
                ['BECKON_LIBRARY' => self::libraryPath()]);
            $this->assertSame(0, $status, $out . $err);
            $this->assertStringContainsString(
                'beckon preload: FFI::load() cannot run in a preload with opcache.preload_user',
                $err);
            $this->assertSame('source=path classes=preloaded ' . self::EXPECTED, trim($out));
            $this->asNobody();
            return;
        }
        [$status, $out, $err] = self::runCommand(
            [PHP_BINARY, '-d', 'opcache.enable_cli=1',
             '-d', 'opcache.preload=' . __DIR__ . '/../preload.php', self::fixture()],
            ['BECKON_LIBRARY' => self::libraryPath()]);
        $this->assertSame(0, $status, $out . $err);
        $this->assertSame('source=scope classes=preloaded ' . self::EXPECTED, trim($out));
    }
}
