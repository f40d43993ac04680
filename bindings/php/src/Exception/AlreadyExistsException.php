<?php

declare(strict_types=1);

namespace Beckon\Exception;

use Beckon\BeckonException;

/** BECKON_ALREADY_EXISTS (6): what was to be created exists. */
class AlreadyExistsException extends BeckonException
{
    protected const STATUS = 'ALREADY_EXISTS';
}
