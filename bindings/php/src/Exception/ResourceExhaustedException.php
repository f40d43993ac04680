<?php

declare(strict_types=1);

namespace Beckon\Exception;

use Beckon\BeckonException;

/** BECKON_RESOURCE_EXHAUSTED (8): out of memory. */
class ResourceExhaustedException extends BeckonException
{
    protected const STATUS = 'RESOURCE_EXHAUSTED';
}
