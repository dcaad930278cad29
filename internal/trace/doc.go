// Package trace turns workload traces into time-ordered sequences of
// requests for replaying warm-set policies: real serverless traces (Azure
// Functions 2019 in the public dataset's and invitro's layouts, Azure
// Functions 2021), cache traces (one key per line, the ARC format, CSV of
// timestamp and key), a synthetic Azure-style day and the simulated BUMBA
// workload. Each request is one task: when it arrives (At, an offset from
// the start of the trace), which specialist it needs (Key), that
// specialist's department (Group), what keeping it warm costs (Memory) and
// what starting it costs (ColdStart), how long the task runs (Duration)
// and its Priority.
//
// A Trace holds its requests by column: At and Key (an index into
// Specialists, numbered in the order of first request) for every request,
// 12 bytes each, plus Durations and Priorities only when they differ per
// request. Trace.Request and Trace.All assemble Request values.
//
// # Bounds
//
// Readers read their input as a stream (a CSV record or a line at a
// time; nothing is read whole) and hold only the trace they build, and
// what sorting it needs. Options.MaxRequests (DefaultMaxRequests, 2^27)
// bounds the requests of any trace; Options.MaxPerMinute
// (DefaultMaxPerMinute, 2^20) bounds one Azure 2019 count, so that a count
// cannot amplify a few bytes of input into gigabytes; a line of a keys,
// ARC or CSV trace is at most 64 KiB and a record of the Azure CSV files
// at most 1 MiB; an ARC line names at most 2^20 blocks. Beyond a bound a
// reader returns an error wrapping ErrMalformed that names the line (and
// the column) where the bound was crossed.
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
// name, never by position, and without regard to case (the public
// dataset, invitro's samples and invitro's own tools order and spell them
// differently); other columns, such as Trigger, are ignored. A minute
// column is named "N" or "minute_N" (e.g. "480", "1" … "1440" for a
// public day, or "minute_1" … "minute_1440" as invitro's sized samples
// have them).
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
//     Options.Memory (5 MiB). Rows for functions not in invocations.csv
//     are ignored.
//   - Duration is the function's Average (ms) from durations.csv, matched
//     in the same way; 0 without a row or when durations is nil. Rows are
//     per function: every invocation of a function gets its average.
//   - ColdStart is Options.ColdStart (1 s when 0) for every function: the
//     dataset records no cold-start times, so the BUMBA seed's 1000 ms
//     stands in.
//   - Priority is PriorityUnset.
//   - Specialists are the functions with at least one invocation.
//
// The embedded 8-hour sample holds 3,037,902 invocations (1.9 M of them of
// one function). The reader keeps the non-zero counts, then writes the
// columns sized exactly from them; each minute is sorted as packed
// integers (offset << 28 | rank of the key), so no per-invocation
// allocation happens. At most 2^28 functions are accepted; a file whose
// every count is 0 is refused.
//
// Open and Detect find the files of one trace (Azure2019Files) in the
// three known layouts: invocations.csv with durations.csv and memory.csv
// (invitro's samples); N_inv.csv with N_run.csv and N_mem.csv (invitro's
// sized samples, memory per app); invocations_per_function_md.anon.dNN.csv
// with function_durations_percentiles.anon.dNN.csv and
// app_memory_percentiles.anon.dNN.csv (the public dataset's days). The
// durations and memory files are optional; Source says when one is
// missing.
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
// # Key traces (ReadKeys) and ARC traces (ReadARC)
//
// One decimal integer key per line (optional '-', digits; surrounding
// blanks and '\r' ignored), no timestamps. Access i (from 0) is at
// i × Spacing (1 s by default); Key is the line's text, so "007" and "7"
// differ; Group is "keys"; Memory and ColdStart come from the options
// (5 MiB, 1 s: a start lasts one access gap unless ColdStart says
// otherwise); Duration is 0; Priority unset.
//
// An ARC trace line "start count ignored request" is count accesses to
// blocks start … start+count−1, each block a key (its decimal number),
// placed like a key trace's accesses; Group is "arc".
//
// # Timestamped key traces (ReadCSV)
//
// A CSV of a timestamp in seconds and a key per line (further fields
// ignored; an optional header naming the columns). See ReadCSV.
//
// # The synthetic Azure-style day (Synthetic)
//
// Generated per-minute counts, placed as Azure 2019 invocations are; for
// measuring the lab at the scale of a public day. See Synthetic.
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
// an empty line or a non-decimal key, a line or record or count past a
// bound (see Bounds). A header-only durations.csv or memory.csv is fine:
// every function takes the default. Every reader has a fuzz target
// (fuzz_test.go) checking that it never panics and that what it accepts
// is a well-formed trace within the bounds.
//
// # Embedded and on-disk traces
//
// Embedded returns the project's own copies of the traces, kept in data/
// with their sources and licences (data/README.md); Open reads every
// format from disk (Detect telling the format from a directory's files or
// a file's name and first line), or generates the BUMBA workload or the
// synthetic day.
package trace
