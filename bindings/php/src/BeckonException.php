<?php

declare(strict_types=1);

namespace Beckon;

/**
 * A failed call into beckon. getMessage() is the C library's message (it
 * names the offending parameter or field), getCode() the C status code
 * (beckon_status_code, Abseil's numbering) and getStatus() its name. Each
 * status the C ABI returns has a subclass in Beckon\Exception, so a caller
 * can catch the kinds it handles:
 *
 *   try { $engine->offerDeclined(...); }
 *   catch (Exception\UnavailableException | Exception\AbortedException) {
 *       // Redis down or contended: report the decline again later.
 *   }
 */
class BeckonException extends \RuntimeException
{
    /** Status code => subclass (the others are BeckonException). */
    private const CLASSES = [
        1 => Exception\CancelledException::class,
        2 => Exception\UnknownException::class,
        3 => Exception\InvalidArgumentException::class,
        4 => Exception\DeadlineExceededException::class,
        5 => Exception\NotFoundException::class,
        6 => Exception\AlreadyExistsException::class,
        7 => Exception\PermissionDeniedException::class,
        8 => Exception\ResourceExhaustedException::class,
        9 => Exception\FailedPreconditionException::class,
        10 => Exception\AbortedException::class,
        11 => Exception\OutOfRangeException::class,
        12 => Exception\UnimplementedException::class,
        13 => Exception\InternalException::class,
        14 => Exception\UnavailableException::class,
        15 => Exception\DataLossException::class,
        16 => Exception\UnauthenticatedException::class,
    ];

    /** The status name each subclass stands for. */
    protected const STATUS = 'UNKNOWN';

    private string $status;

    public function __construct(string $message = '', ?int $code = null,
                                ?string $status = null,
                                ?\Throwable $previous = null)
    {
        parent::__construct($message,
                            $code ?? (int)array_search(static::class,
                                                       self::CLASSES, true),
                            $previous);
        $this->status = $status ?? static::STATUS;
    }

    /** The status name: "INVALID_ARGUMENT", "NOT_FOUND", ... */
    public function getStatus(): string
    {
        return $this->status;
    }

    /** The exception for a C status code and message. */
    public static function fromStatus(int $status, string $name,
                                      string $message): self
    {
        $class = self::CLASSES[$status] ?? self::class;
        return new $class($message, $status, $name);
    }
}
