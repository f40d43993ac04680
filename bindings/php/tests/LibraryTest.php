<?php

declare(strict_types=1);

namespace Beckon\Tests;

use Beckon\BeckonException;
use Beckon\Exception;
use Beckon\Library;

final class LibraryTest extends TestCase
{
    protected function tearDown(): void
    {
        Library::setDefault(null);
        parent::tearDown();
    }

    public function testGetLoadsTheLibraryOfTheEnvironmentOnce(): void
    {
        Library::setDefault(null);
        $lib = Library::get();
        $this->assertSame(self::libraryPath(), $lib->source);
        $this->assertSame($lib, Library::get());
        $this->assertMatchesRegularExpression('/^\d+\.\d+\.\d+$/', $lib->version());
    }

    public function testAbiVersionIsTheHeaders(): void
    {
        $version = file_get_contents(__DIR__ . '/../../../include/beckon/version.h');
        $this->assertSame(1, preg_match('/#define BECKON_ABI_VERSION (\d+)/', $version, $m));
        $this->assertSame((int)$m[1], Library::get()->abiVersion());
        $this->assertSame("libbeckon_c.so.$m[1]", Library::defaultNames()[0]);
        $this->assertStringContainsString("#define FFI_LIB \"libbeckon_c.so.$m[1]\"",
                                          file_get_contents(Library::HEADER));
    }

    public function testLoadByPathAndSetDefault(): void
    {
        $lib = Library::load(self::libraryPath());
        $this->assertNotSame(Library::get(), $lib);
        Library::setDefault($lib);
        $this->assertSame($lib, Library::get());
        $this->assertSame('INVALID_ARGUMENT', $lib->statusName(3));
        $this->assertNull($lib->statusName(99));
    }

    public function testAMissingLibraryIsALibraryException(): void
    {
        try {
            Library::load('/nonexistent/libbeckon_c.so.0');
            $this->fail('no exception');
        } catch (Exception\LibraryException $e) {
            $this->assertInstanceOf(BeckonException::class, $e);
            $this->assertSame('LIBRARY', $e->getStatus());
            $this->assertSame(0, $e->getCode());
            $this->assertStringContainsString('/nonexistent/libbeckon_c.so.0', $e->getMessage());
            $this->assertStringContainsString('BECKON_LIBRARY', $e->getMessage());
        }
    }

    public function testNotPreloadedInThisProcess(): void
    {
        $this->assertNull(Library::preloaded());
    }

    /**
     * Every function of include/beckon/beckon.h is declared in the
     * package's header, and FFI::cdef() resolved each one in the library
     * (it fails on a missing symbol).
     */
    public function testTheHeaderDeclaresEveryFunctionOfBeckonH(): void
    {
        $c = file_get_contents(__DIR__ . '/../../../include/beckon/beckon.h');
        preg_match_all('/BECKON_EXPORT\s[^;(]*?\b(beckon_\w+)\s*\(/', $c, $m);
        $this->assertGreaterThan(40, count($m[1]));
        $ffi = file_get_contents(Library::HEADER);
        foreach ($m[1] as $fn) {
            $this->assertMatchesRegularExpression("/\\b$fn\\(/", $ffi, "$fn is not declared");
        }
        preg_match_all('/\b(beckon_\w+)\(/', $ffi, $declared);
        $this->assertEqualsCanonicalizing($m[1], $declared[1]);
        Library::load(self::libraryPath());  // cdef resolves every one
    }

    /** The committed header is what the generator makes of beckon.h now. */
    public function testTheCommittedHeaderIsCurrent(): void
    {
        $cc = getenv('CC') ?: 'cc';
        if (trim((string)shell_exec('command -v ' . escapeshellarg($cc))) === '') {
            $this->markTestSkipped("no C compiler ($cc) to run the preprocessor");
        }
        [$status, $out, $err] = self::runCommand([
            PHP_BINARY, __DIR__ . '/../tools/generate_ffi_header.php',
            "--cc=$cc", '--header=' . __DIR__ . '/../../../include/beckon/beckon.h',
            '--check=' . Library::HEADER]);
        $this->assertSame(0, $status, $out . $err);
    }
}
