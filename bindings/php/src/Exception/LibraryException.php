<?php

declare(strict_types=1);

namespace Beckon\Exception;

use Beckon\BeckonException;

/**
 * libbeckon_c could not be loaded (or preloaded), or is of another ABI
 * version than the package's header. Not a C status: getCode() is 0 and
 * getStatus() "LIBRARY".
 */
class LibraryException extends BeckonException
{
    protected const STATUS = 'LIBRARY';
}
