<?php

declare(strict_types=1);

namespace Beckon\Exception;

use Beckon\BeckonException;

/** BECKON_UNAUTHENTICATED (16): missing credentials. */
class UnauthenticatedException extends BeckonException
{
    protected const STATUS = 'UNAUTHENTICATED';
}
