<?php

declare(strict_types=1);

namespace Beckon\Exception;

use Beckon\BeckonException;

/** BECKON_CANCELLED (1): the call was cancelled. */
class CancelledException extends BeckonException
{
    protected const STATUS = 'CANCELLED';
}
