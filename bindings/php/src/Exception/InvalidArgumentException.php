<?php

declare(strict_types=1);

namespace Beckon\Exception;

use Beckon\BeckonException;

/** BECKON_INVALID_ARGUMENT (3): a NULL or closed handle, a bad size, an invalid policy or options, an event or time the engine rejects, a bad visitor id. */
class InvalidArgumentException extends BeckonException
{
    protected const STATUS = 'INVALID_ARGUMENT';
}
