<?php

declare(strict_types=1);

namespace Beckon\Exception;

use Beckon\BeckonException;

/** BECKON_FAILED_PRECONDITION (9): a snapshot of an unknown version, or written under another visitor key. */
class FailedPreconditionException extends BeckonException
{
    protected const STATUS = 'FAILED_PRECONDITION';
}
