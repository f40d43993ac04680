<?php

declare(strict_types=1);

namespace Beckon;

/** Help channels of help_contact and offer_* events (beckon_channel). */
enum Channel: int
{
    case Unspecified = 0;
    case Chat = 1;
    case Call = 2;
    case Email = 3;
    case Form = 4;

    /** The channel of an event-log detail field ("", "chat", "call", ...). */
    public static function fromName(string $name): self
    {
        foreach (self::cases() as $case) {
            if (strtolower($case->name) === $name
                || ($name === '' && $case === self::Unspecified)) {
                return $case;
            }
        }
        throw new Exception\InvalidArgumentException(
            "unknown channel \"$name\" (chat, call, email, form or empty)");
    }
}
