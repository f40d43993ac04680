<?php

declare(strict_types=1);

namespace Beckon\Exception;

use Beckon\BeckonException;

/** BECKON_UNIMPLEMENTED (12): the library was built without the feature (the Redis store). */
class UnimplementedException extends BeckonException
{
    protected const STATUS = 'UNIMPLEMENTED';
}
