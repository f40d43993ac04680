<?php

declare(strict_types=1);

namespace Beckon\Exception;

use Beckon\BeckonException;

/** BECKON_UNKNOWN (2): an error of no other kind. */
class UnknownException extends BeckonException
{
    protected const STATUS = 'UNKNOWN';
}
