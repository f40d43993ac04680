<?php

declare(strict_types=1);

namespace Beckon\Exception;

use Beckon\BeckonException;

/** BECKON_UNAVAILABLE (14): Redis store: Redis could not be reached or was too slow; the event was not recorded (report it again). */
class UnavailableException extends BeckonException
{
    protected const STATUS = 'UNAVAILABLE';
}
