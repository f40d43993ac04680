<?php

declare(strict_types=1);

namespace Beckon;

use FFI\CData;

/**
 * The engine's counters (Engine::stats(); docs/concepts.md, "Statistics").
 * With the Redis store, liveSessions and memoryRecords count the keys
 * under the prefix; the other counters are this engine's own (one request's,
 * in PHP-FPM), not the site's.
 */
final class Stats
{
    public readonly int $liveSessions;
    public readonly int $memoryRecords;
    public readonly int $sessionsStarted;
    public readonly int $sessionsExpired;
    public readonly int $sessionsEvicted;
    public readonly int $memoryEvicted;
    public readonly int $eventsObserved;
    public readonly int $eventsRejected;
    public readonly int $storeErrors;
    public readonly int $storeConflicts;
    public readonly int $storeRoundTrips;
    /** @var array<string, int> decisions by action name ("offer" => n) */
    public readonly array $decisionsByAction;
    /** @var array<string, int> decisions by reason code ("score" => n) */
    public readonly array $decisionsByReason;
    /** @var array<string, int|list<int>> every field of beckon_stats_t by its C name */
    public readonly array $fields;

    /** @internal Engine::stats() makes it from a filled beckon_stats_t. */
    public function __construct(\FFI $ffi, CData $s)
    {
        $fields = [];
        foreach ($ffi->type('beckon_stats_t')->getStructFieldNames() as $name) {
            $v = $s->$name;
            $fields[$name] = $v instanceof CData ? self::ints($v) : $v;
        }
        $this->fields = $fields;
        $this->liveSessions = $s->live_sessions;
        $this->memoryRecords = $s->memory_records;
        $this->sessionsStarted = $s->sessions_started;
        $this->sessionsExpired = $s->sessions_expired;
        $this->sessionsEvicted = $s->sessions_evicted;
        $this->memoryEvicted = $s->memory_evicted;
        $this->eventsObserved = $s->events_observed;
        $this->eventsRejected = $s->events_rejected;
        $this->storeErrors = $s->store_errors;
        $this->storeConflicts = $s->store_conflicts;
        $this->storeRoundTrips = $s->store_round_trips;
        $actions = [];
        for ($i = 0; $i < $s->action_count; ++$i) {
            $actions[$ffi->beckon_action_name($i) ?? "action_$i"] =
                $s->decisions_by_action[$i];
        }
        $this->decisionsByAction = $actions;
        $reasons = [];
        for ($i = 0; $i < $s->reason_count; ++$i) {
            $reasons[$ffi->beckon_reason_name($i) ?? "reason_$i"] =
                $s->decisions_by_reason[$i];
        }
        $this->decisionsByReason = $reasons;
    }

    /** @return list<int> */
    private static function ints(CData $array): array
    {
        $out = [];
        foreach ($array as $v) {
            $out[] = $v;
        }
        return $out;
    }
}
