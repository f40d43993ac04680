<?php

declare(strict_types=1);

namespace Beckon;

use FFI\CData;

/**
 * A validated, immutable policy (page groups, thresholds, path rules, model
 * weights, gates; docs/policy-format.md). Engines copy it: a Policy may be
 * dropped once engines are made from it. Every factory validates and
 * throws Exception\InvalidArgumentException naming the offending field.
 */
final class Policy
{
    private ?CData $handle;

    private function __construct(public readonly Library $library,
                                 CData $handle)
    {
        $this->handle = $handle;
    }

    public function __destruct()
    {
        $this->close();
    }

    /** The built-in default policy ("beckon-default"). */
    public static function default(?Library $library = null): self
    {
        $lib = $library ?? Library::get();
        $h = $lib->ffi->new('beckon_policy_t*');
        $status = $lib->ffi->beckon_policy_default(Library::addr($h),
                                                   $lib->errp);
        return self::made($lib, $h, $status);
    }

    /**
     * A policy file, binary protobuf or text format.
     *
     * @throws Exception\NotFoundException when it cannot be opened
     * @throws Exception\InvalidArgumentException when it is not a policy
     */
    public static function fromFile(string $path, ?Library $library = null): self
    {
        Library::checkText($path, 'path');
        $lib = $library ?? Library::get();
        $h = $lib->ffi->new('beckon_policy_t*');
        $status = $lib->ffi->beckon_policy_from_file($path, Library::addr($h),
                                                     $lib->errp);
        return self::made($lib, $h, $status);
    }

    /** A binary protobuf policy (what toBytes() and `beckon train` write). */
    public static function fromBytes(string $bytes, ?Library $library = null): self
    {
        $lib = $library ?? Library::get();
        $h = $lib->ffi->new('beckon_policy_t*');
        $status = $lib->ffi->beckon_policy_from_bytes(
            $bytes, strlen($bytes), Library::addr($h), $lib->errp);
        return self::made($lib, $h, $status);
    }

    /** A policy in protobuf text format (`beckon inspect` prints it). */
    public static function fromText(string $text, ?Library $library = null): self
    {
        $lib = $library ?? Library::get();
        $h = $lib->ffi->new('beckon_policy_t*');
        $status = $lib->ffi->beckon_policy_from_text(
            $text, strlen($text), Library::addr($h), $lib->errp);
        return self::made($lib, $h, $status);
    }

    /** The policy's name (possibly ""). */
    public function name(): string
    {
        $name = $this->library->ffi->new('const char*');
        $status = $this->library->ffi->beckon_policy_name(
            $this->handle, Library::addr($name), $this->library->errp);
        if ($status !== 0) {
            $this->library->raise($status);
        }
        return Library::text($name);
    }

    /** The binary protobuf encoding (for fromBytes()). */
    public function toBytes(): string
    {
        return $this->serialize('beckon_policy_to_bytes');
    }

    /** The protobuf text format (for fromText()). */
    public function toText(): string
    {
        return $this->serialize('beckon_policy_to_text');
    }

    /**
     * Writes the binary encoding to $path, replacing it atomically.
     *
     * @throws Exception\PermissionDeniedException when it cannot be written
     */
    public function toFile(string $path): void
    {
        Library::checkText($path, 'path');
        $status = $this->library->ffi->beckon_policy_to_file(
            $this->handle, $path, $this->library->errp);
        if ($status !== 0) {
            $this->library->raise($status);
        }
    }

    /**
     * Frees the C policy now (the destructor does otherwise). A closed
     * policy's calls throw Exception\InvalidArgumentException.
     */
    public function close(): void
    {
        if ($this->handle !== null) {
            $this->library->ffi->beckon_policy_destroy($this->handle);
            $this->handle = null;
        }
    }

    /** @internal A new handle to an engine's policy (Engine::policy()). */
    public static function ofEngine(Library $lib, ?CData $engine): self
    {
        $h = $lib->ffi->new('beckon_policy_t*');
        $status = $lib->ffi->beckon_engine_policy($engine, Library::addr($h),
                                                  $lib->errp);
        return self::made($lib, $h, $status);
    }

    /** @internal The C handle (NULL once closed). */
    public function handle(): ?CData
    {
        return $this->handle;
    }

    private function serialize(string $fn): string
    {
        $ffi = $this->library->ffi;
        $data = $ffi->new('char*');
        $size = $ffi->new('size_t');
        $status = $ffi->$fn($this->handle, Library::addr($data),
                            Library::addr($size), $this->library->errp);
        if ($status !== 0) {
            $this->library->raise($status);
        }
        return $this->library->takeBytes($data, $size);
    }

    private static function made(Library $lib, CData $h, int $status): self
    {
        if ($status !== 0) {
            $lib->raise($status);
        }
        return new self($lib, $h);
    }
}
