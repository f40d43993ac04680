<?php

declare(strict_types=1);

namespace Beckon\Tests;

use Beckon\Engine;
use Beckon\Exception;
use Beckon\Policy;

final class PolicyTest extends TestCase
{
    public function testDefault(): void
    {
        $p = Policy::default();
        $this->assertSame('beckon-default', $p->name());
        $this->assertGreaterThan(100, strlen($p->toBytes()));
        $this->assertStringContainsString('name: "beckon-default"', $p->toText());
    }

    public function testBytesAndTextRoundTrip(): void
    {
        $p = Policy::default();
        $bytes = $p->toBytes();
        $this->assertSame($bytes, Policy::fromBytes($bytes)->toBytes());
        $this->assertSame($bytes, Policy::fromText($p->toText())->toBytes());
        // Binary-safe: the bytes hold NULs, passed with their size.
        $this->assertStringContainsString("\0", $bytes . "\0");
    }

    public function testFiles(): void
    {
        $binary = $this->tmpPath('.policy');
        Policy::default()->toFile($binary);
        $this->assertSame('beckon-default', Policy::fromFile($binary)->name());
        $text = $this->tmpPath('.txt');
        file_put_contents($text, str_replace('beckon-default', 'shop-2',
                                             Policy::default()->toText()));
        $p = Policy::fromFile($text);
        $this->assertSame('shop-2', $p->name());
        $this->assertSame('shop-2', (new Engine($p))->policy()->name());
        $this->assertSame('shop-2', Engine::fromPolicyFile($text)->policy()->name());
        $this->assertSame('shop-2', Engine::fromPolicyBytes($p->toBytes())->policy()->name());
    }

    public function testAnEngineKeepsItsCopy(): void
    {
        $p = Policy::fromText(Policy::default()->toText());
        $e = new Engine($p);
        $p->close();
        unset($p);
        $this->assertSame('beckon-default', $e->policy()->name());
    }

    public function testBadBytes(): void
    {
        $this->expectException(Exception\InvalidArgumentException::class);
        $this->expectExceptionMessage('not a binary policy message');
        Policy::fromBytes("\xff\xff\xff garbage");
    }

    public function testAnInvalidPolicyNamesTheField(): void
    {
        $text = preg_replace('/decision_threshold: [0-9.e-]+/', 'decision_threshold: 7',
                             Policy::default()->toText(), 1, $n);
        $this->assertSame(1, $n, 'the default policy has a decision_threshold');
        try {
            Policy::fromText($text);
            $this->fail('no exception');
        } catch (Exception\InvalidArgumentException $e) {
            $this->assertSame('INVALID_ARGUMENT', $e->getStatus());
            $this->assertStringContainsString('decision_threshold', $e->getMessage());
        }
    }

    public function testBadText(): void
    {
        $this->expectException(Exception\InvalidArgumentException::class);
        Policy::fromText('this is { not a policy');
    }

    public function testEmptyBytes(): void
    {
        // An empty message parses, but a policy must have its fields.
        $this->expectException(Exception\InvalidArgumentException::class);
        Policy::fromBytes('');
    }

    public function testMissingFile(): void
    {
        $this->expectException(Exception\NotFoundException::class);
        $this->expectExceptionMessage('/nonexistent/shop.policy');
        Policy::fromFile('/nonexistent/shop.policy');
    }

    public function testMissingFileForAnEngine(): void
    {
        $this->expectException(Exception\NotFoundException::class);
        Engine::fromPolicyFile('/nonexistent/shop.policy');
    }

    public function testUnwritableFile(): void
    {
        $this->expectException(Exception\PermissionDeniedException::class);
        Policy::default()->toFile('/nonexistent/dir/shop.policy');
    }

    public function testNulInAPath(): void
    {
        $this->expectException(Exception\InvalidArgumentException::class);
        $this->expectExceptionMessage('path contains a NUL byte');
        Policy::fromFile("/etc/passwd\0.policy");
    }

    public function testAClosedPolicy(): void
    {
        $p = Policy::default();
        $p->close();
        $p->close();  // Twice is fine.
        $this->expectException(Exception\InvalidArgumentException::class);
        $this->expectExceptionMessage('policy');
        $p->name();
    }

    public function testAClosedPolicyMakesNoEngine(): void
    {
        $p = Policy::default();
        $p->close();
        $this->expectException(Exception\InvalidArgumentException::class);
        new Engine($p);
    }
}
