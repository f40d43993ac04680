<?php

declare(strict_types=1);

namespace Beckon\Exception;

use Beckon\BeckonException;

/** BECKON_DATA_LOSS (15): a malformed snapshot. */
class DataLossException extends BeckonException
{
    protected const STATUS = 'DATA_LOSS';
}
