<?php

declare(strict_types=1);

namespace Beckon\Exception;

use Beckon\BeckonException;

/** BECKON_NOT_FOUND (5): a policy or snapshot file cannot be opened. */
class NotFoundException extends BeckonException
{
    protected const STATUS = 'NOT_FOUND';
}
