<?php

declare(strict_types=1);

namespace Beckon\Exception;

use Beckon\BeckonException;

/** BECKON_PERMISSION_DENIED (7): a file cannot be written, or Redis refused the credentials. */
class PermissionDeniedException extends BeckonException
{
    protected const STATUS = 'PERMISSION_DENIED';
}
