<?php

declare(strict_types=1);

namespace Beckon\Exception;

use Beckon\BeckonException;

/** BECKON_DEADLINE_EXCEEDED (4): a deadline passed. */
class DeadlineExceededException extends BeckonException
{
    protected const STATUS = 'DEADLINE_EXCEEDED';
}
