<?php

declare(strict_types=1);

namespace Beckon\Exception;

use Beckon\BeckonException;

/** BECKON_INTERNAL (13): a bug in beckon. */
class InternalException extends BeckonException
{
    protected const STATUS = 'INTERNAL';
}
