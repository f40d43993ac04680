<?php

declare(strict_types=1);

namespace Beckon;

use Beckon\Exception\InvalidArgumentException;
use Beckon\Exception\LibraryException;
use FFI;
use FFI\CData;

/**
 * The loaded C library (libbeckon_c) and the helpers every class calls it
 * through: one FFI object, and the error cell that every C call's last
 * argument (`char** errptr`) points to.
 *
 * Library::get() is the library the classes use unless given another:
 *
 *  1. the FFI scope "beckon", when PHP preloaded it at its start
 *     (ffi.preload=src/beckon_ffi.h, or preload.php's FFI::load()): no
 *     header is parsed and no library is looked up during the request;
 *  2. else FFI::cdef() with src/beckon_ffi.h and the library at
 *     $BECKON_LIBRARY, else the first of defaultNames() the dynamic loader
 *     finds.
 *
 * Under ffi.enable=preload (the default) a web SAPI such as PHP-FPM lets
 * only preloaded code use FFI: there the classes must be preloaded too
 * (opcache.preload=preload.php). Library::load($path) loads a given file;
 * Library::setDefault() makes a library the default. See docs/php.md.
 */
final class Library
{
    /** The FFI scope name (FFI_SCOPE of the header). */
    public const SCOPE = 'beckon';
    /** The declarations, generated from include/beckon/beckon.h. */
    public const HEADER = __DIR__ . '/beckon_ffi.h';
    /** The environment variable naming the library file. */
    public const ENV = 'BECKON_LIBRARY';

    private static ?Library $default = null;

    /** @internal The error cell: char* err; and &err for the calls. */
    public readonly CData $err;
    /** @internal */
    public readonly CData $errp;

    /**
     * @param FFI $ffi the C functions, from a scope or FFI::cdef()
     * @param string $source "scope" or the library's path or name
     */
    public function __construct(public readonly FFI $ffi,
                                public readonly string $source)
    {
        $this->err = $ffi->new('char*');
        $this->errp = FFI::addr($this->err);
    }

    /** The default library (see the class comment), loaded on first use. */
    public static function get(): self
    {
        return self::$default ??= self::preloaded()
            ?? self::load(getenv(self::ENV) ?: null);
    }

    /** Makes $library the default (null: find it again on next use). */
    public static function setDefault(?self $library): void
    {
        self::$default = $library;
    }

    /** The library PHP preloaded (the scope "beckon"), or null. */
    public static function preloaded(): ?self
    {
        try {
            return new self(FFI::scope(self::SCOPE), 'scope');
        } catch (FFI\Exception) {
            return null;  // Not preloaded (or FFI restricted here).
        }
    }

    /**
     * Loads the library with FFI::cdef(): the file at $path (a path, or a
     * name the dynamic loader finds), or without one the first of
     * defaultNames() that loads.
     *
     * @throws LibraryException when it cannot be loaded
     */
    public static function load(?string $path = null): self
    {
        [$declarations, $soname] = self::declarations();
        $candidates = $path !== null && $path !== ''
            ? [$path] : self::defaultNames($soname);
        $errors = [];
        foreach ($candidates as $candidate) {
            try {
                $ffi = FFI::cdef($declarations, $candidate);
            } catch (FFI\Exception $e) {
                $errors[] = "$candidate: {$e->getMessage()}";
                continue;
            }
            $library = new self($ffi, $candidate);
            $library->checkAbi($soname);
            return $library;
        }
        if (str_contains(implode(' ', $errors), 'restricted by "ffi.enable"')) {
            throw new LibraryException(
                'cannot load libbeckon_c: FFI is restricted by ffi.enable='
                . 'preload here (only preloaded code may use it); preload '
                . 'beckon: ffi.preload=' . self::HEADER . ' and '
                . 'opcache.preload=' . dirname(__DIR__) . '/preload.php, or '
                . 'set ffi.enable=1 (docs/php.md)');
        }
        throw new LibraryException(
            'cannot load libbeckon_c (' . implode('; ', $errors) . '); set $'
            . self::ENV . ' to its path, pass it to Library::load(), or '
            . 'preload it (docs/php.md)');
    }

    /**
     * For opcache.preload (preload.php calls it) where ffi.preload is not
     * used: loads the declarations with FFI::load() under the scope
     * "beckon", for the library at $path (else $BECKON_LIBRARY, else the
     * header's FFI_LIB, found by the dynamic loader). Every later request
     * takes it with FFI::scope(). Nothing to do when the scope exists.
     *
     * PHP refuses FFI::load() in a preload that runs as another user
     * (opcache.preload_user, which a PHP-FPM master running as root needs):
     * there, use ffi.preload with the header (headerFor() writes one for a
     * library path).
     *
     * @throws LibraryException when it cannot be loaded
     */
    public static function preload(?string $path = null): void
    {
        if (self::preloaded() !== null) {
            return;  // ffi.preload did it.
        }
        if ((string)ini_get('opcache.preload_user') !== '') {
            throw new LibraryException(
                'FFI::load() cannot run in a preload with opcache.preload_user; '
                . 'set ffi.preload=' . self::HEADER . ' (or a copy from '
                . 'Library::headerFor(PATH)) in php.ini (docs/php.md)');
        }
        $path = ($path ?? '') !== '' ? $path : (getenv(self::ENV) ?: null);
        $header = self::HEADER;
        if ($path !== null) {
            // FFI::load() reads FFI_LIB from the file: write a copy naming
            // the library (one per library path and header content).
            $text = self::headerFor($path);
            $header = sys_get_temp_dir() . '/beckon_ffi_'
                . substr(hash('sha256', $text), 0, 16) . '.h';
            if (@file_get_contents($header) !== $text) {
                $tmp = $header . '.' . getmypid();
                if (file_put_contents($tmp, $text) === false
                    || !rename($tmp, $header)) {
                    throw new LibraryException("cannot write $header");
                }
            }
        }
        try {
            $ffi = FFI::load($header);
        } catch (FFI\Exception $e) {
            throw new LibraryException("cannot preload $header: "
                                       . $e->getMessage());
        }
        if ($ffi === null) {
            throw new LibraryException("cannot preload $header");
        }
    }

    /**
     * The package's header with FFI_LIB naming the library at $path: for
     * ffi.preload of a library the dynamic loader does not find by name.
     *
     *   php -r 'require "vendor/autoload.php";
     *           echo Beckon\Library::headerFor("/opt/beckon/lib/libbeckon_c.so.0");' \
     *       > /etc/php/8.2/beckon_ffi.h
     */
    public static function headerFor(string $path): string
    {
        return preg_replace('/^#define FFI_LIB .*$/m',
                            '#define FFI_LIB ' . json_encode(
                                $path, JSON_UNESCAPED_SLASHES),
                            self::readHeader(), 1);
    }

    /**
     * The names tried without a path: the header's FFI_LIB (the soname,
     * "libbeckon_c.so.0") and the development link "libbeckon_c.so".
     *
     * @return list<string>
     */
    public static function defaultNames(?string $soname = null): array
    {
        $soname ??= self::declarations()[1];
        return PHP_OS_FAMILY === 'Darwin'
            ? [preg_replace('/\.so\.(\d+)$/', '.$1.dylib', $soname),
               'libbeckon_c.dylib']
            : [$soname, 'libbeckon_c.so'];
    }

    /** The release version of the loaded library, "MAJOR.MINOR.PATCH". */
    public function version(): string
    {
        return $this->ffi->beckon_version();
    }

    /** The ABI version (SOVERSION) of the loaded library. */
    public function abiVersion(): int
    {
        return $this->ffi->beckon_abi_version();
    }

    /** The name of a status code ("INVALID_ARGUMENT"), or null. */
    public function statusName(int $status): ?string
    {
        return $this->ffi->beckon_status_name($status);
    }

    /**
     * @internal Throws the exception for a failed call's $status with the
     * message the call left in the error cell (and frees it).
     *
     * @throws BeckonException
     */
    public function raise(int $status): never
    {
        $message = FFI::isNull($this->err) ? '' : FFI::string($this->err);
        $this->ffi->beckon_free($this->err);
        throw BeckonException::fromStatus(
            $status, $this->statusName($status) ?? "STATUS_$status",
            $message);
    }

    /**
     * @internal A library-allocated buffer (char* data of size bytes) as
     * a PHP string; frees it.
     */
    public function takeBytes(CData $data, CData $size): string
    {
        $out = FFI::string($data, $size->cdata);
        $this->ffi->beckon_free($data);
        return $out;
    }

    /** @internal A borrowed const char* as a PHP string. */
    public static function text(CData $text): string
    {
        return FFI::isNull($text) ? '' : FFI::string($text);
    }

    /** @internal The address of a CData cell, for out-parameters. */
    public static function addr(CData $cell): CData
    {
        return FFI::addr($cell);
    }

    /** @internal Whether a handle cell holds NULL. */
    public static function isNull(CData $handle): bool
    {
        return FFI::isNull($handle);
    }

    /** @internal The size of a C struct, for struct_size. */
    public static function sizeof(CData $struct): int
    {
        return FFI::sizeof($struct);
    }

    /**
     * @internal Rejects text the C ABI would cut at a NUL byte (it reads
     * NUL-terminated strings): "a\0b" must not become the visitor "a".
     *
     * @throws InvalidArgumentException
     */
    public static function checkText(string $value, string $what): void
    {
        if (str_contains($value, "\0")) {
            throw new InvalidArgumentException(
                "$what contains a NUL byte (text is NUL-terminated UTF-8)");
        }
    }

    /** [declarations for FFI::cdef, the FFI_LIB name] */
    private static function declarations(): array
    {
        static $cache = null;
        if ($cache === null) {
            $text = self::readHeader();
            $soname = preg_match('/^#define FFI_LIB "([^"]+)"/m', $text, $m)
                === 1 ? $m[1] : 'libbeckon_c.so';
            $cache = [preg_replace('/^#define FFI_(SCOPE|LIB) .*$/m', '',
                                   $text), $soname];
        }
        return $cache;
    }

    private static function readHeader(): string
    {
        $text = @file_get_contents(self::HEADER);
        if ($text === false) {
            throw new LibraryException('cannot read ' . self::HEADER);
        }
        return $text;
    }

    private function checkAbi(string $soname): void
    {
        if (preg_match('/\.so\.(\d+)$/', $soname, $m) === 1
            && $this->abiVersion() !== (int)$m[1]) {
            throw new LibraryException(sprintf(
                '%s has ABI version %d; this package is for ABI %d '
                . '(%s); use a matching libbeckon_c', $this->source,
                $this->abiVersion(), (int)$m[1], $soname));
        }
    }
}
