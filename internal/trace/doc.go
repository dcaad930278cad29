// Package trace turns workload traces into time-ordered streams of requests
// for replaying warm-set policies: real serverless traces (Azure Functions
// 2019 and 2021), a key-only cache trace (cache2k web07) and the simulated
// BUMBA workload. Each Request is one task: when it arrives (At, an offset
// from the start of the trace), which specialist it needs (Key), that
// specialist's department (Group), what keeping it warm costs (Memory) and
// what starting it costs (ColdStart), how long the task runs (Duration) and
// its Priority. A Trace's Requests are sorted by At; Keys counts the
// distinct keys among them.
//
// Every modelling choice is listed below. Where a trace lacks a figure the
// readers fall back on the BUMBA catalogue's reference costs: 5 MiB of warm
// memory (5 << 20 bytes) and a 1 s (1000 ms) cold start. Options set to 0
// mean these defaults; negative options are rejected.
//
// # Azure Functions 2019 (ReadAzure2019)
//
// invocations.csv has one row per function, identified by HashOwner,
// HashApp and HashFunction, and one column per minute of the day holding
// the number of invocations in that minute. Columns are found by header
// name, never by position (the public dataset and derived samples order
// them differently); other columns, such as Trigger, are ignored. A
// minute column is named "N" or "minute_N" (e.g. "480" or "minute_480").
// The smallest minute present — the first minute column in the public
// dataset and in the embedded sample — is t = 0: minute N covers
// [N−N0, N−N0+1) minutes. Minutes absent from the header count as zero.
//
//   - Identity: a function is its (HashOwner, HashApp, HashFunction)
//     triple; a triple on two rows is an error. Key is the bare
//     HashFunction when no two rows share one — true of the embedded
//     sample (500 rows, 500 distinct HashFunctions) — and otherwise
//     "HashOwner/HashApp/HashFunction" for every function, so that keys
//     have one form per trace and distinct functions never merge.
//   - Group is HashOwner, the tenant: an owner holds one or more apps
//     (the embedded sample: 428 owners, 476 apps, each app under one
//     owner), which makes the owner the closer match to a BUMBA
//     department grouping several specialists.
//   - Time inside a minute: the data gives counts, not order. Each
//     invocation gets an offset drawn uniformly from [0, 60 s) at
//     nanosecond resolution by a math/rand/v2 PCG source seeded with
//     (Seed, a fixed stream constant); draws go minute by minute
//     (ascending), and inside a minute function by function in file row
//     order. Each minute's invocations are then sorted by (offset, Key);
//     requests equal in both are identical. The same input and Seed
//     always give the same stream; another Seed changes the order inside
//     minutes but never which functions run in which minute, nor how
//     often. Reordering columns does not change the stream for a Seed;
//     reordering rows does.
//   - Memory is AverageAllocatedMb from memory.csv times 1<<20 (the
//     dataset's MB read as MiB, as in the BUMBA catalogue), rounded to a
//     byte. Rows are matched on whichever of HashOwner, HashApp and
//     HashFunction the file has (at least HashApp or HashFunction): the
//     invitro samples have all three, the public dataset's memory file is
//     per app, and then every function of an app gets its app's value. A
//     function without a row, or every function when memory is nil, gets
//     DefaultMemory (5 MiB). Rows for functions not in invocations.csv
//     are ignored.
//   - Duration is the function's Average (ms) from durations.csv, matched
//     in the same way; 0 without a row or when durations is nil. Rows are
//     per function: every invocation of a function gets its average.
//   - ColdStart is DefaultColdStart (1 s when 0) for every function: the
//     dataset records no cold-start times, so the BUMBA seed's 1000 ms
//     stands in.
//   - Priority is PriorityUnset.
//   - Keys counts the functions with at least one invocation.
//
// The embedded 8-hour sample holds 3,037,902 invocations (1.9 M of them of
// one function). The reader keeps one Request per invocation (72 bytes
// each) in a slice sized exactly from the counts; Key and Group strings
// are shared per function; each minute is sorted as packed integers
// (offset << 28 | rank of the key), so no per-invocation allocation
// happens. At most 2^28 invocations and 2^28 functions are accepted.
//
// # Azure Functions 2021 (ReadAzure2021)
//
// One row per invocation, columns app, func, end_timestamp and duration
// (seconds, non-negative floats) found by name, rows in any order. Both
// times are rounded to nanoseconds, then start = end − duration and
// At = start − the smallest start. Requests are sorted stably by (At, Key):
// rows equal in both keep their file order. Key is func, or "app/func"
// for every row if some func appears under two apps (it does not in the
// embedded sample: 31 funcs, 13 apps). Group is app (the format has no
// owner). Duration is the row's duration; Memory and ColdStart come from
// the options (5 MiB, 1 s); Priority is unset.
//
// # Key traces (ReadKeys)
//
// One decimal integer key per line (optional '-', digits; surrounding
// blanks and '\r' ignored), no timestamps. Access i (from 0) is at
// i × Spacing (1 s by default); Key is the line's text, so "007" and "7"
// differ; Group is "keys"; Memory and ColdStart come from the options
// (5 MiB, 1 s); Duration is 0; Priority unset.
//
// # The simulated BUMBA workload (FromWorkload)
//
// One request per workload event: Key is the task's specialist, Group its
// department, Priority the task's priority, Memory the catalogue's warm
// memory (5 MiB), ColdStart its cold start (1 s) and Duration its reference
// task time (100 ms). A department-only task is resolved to the first
// specialist of its department in catalogue order — a deterministic
// stand-in for the choice the pool would make.
//
// # Errors
//
// Readers reject malformed input with an error wrapping ErrMalformed that
// names the input, the line (the header is line 1) and the reason: an
// empty file, a bad header (a required column missing, a repeated column
// or minute, no minute columns), a wrong field count, a bad CSV quote, an
// empty identity field, a count that is not a non-negative integer, a
// value that is negative, not a finite number or too large, a function on
// two rows, a header without rows (for invocations and the 2021 format),
// an empty line or a non-decimal key. A header-only durations.csv or
// memory.csv is fine: every function takes the default.
//
// # Embedded and on-disk traces
//
// Embedded returns the project's own copies of the traces, kept in data/
// with their sources and licences (data/README.md); Open reads the same
// formats from disk, or generates the BUMBA workload.
package trace
