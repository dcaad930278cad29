// Package pooltest provides fake specialists for testing code that uses a
// pool.Pool, on an injected clock: a host unit-tests its own integration
// (its handlers, fallbacks, shutdown) deterministically on clock.NewMock(),
// and an example server runs the same fakes on the real clock.
//
// # Fakes
//
// A Fleet holds fake specialists sharing one clock. Add (or Spec, for a
// spec list written in place) makes one; its pool.Spec starts an instance
// that
//
//   - allocates its memory (WithMemory) when the start begins, really and
//     page by page, so that heap and RSS figures can be checked, and
//     reports it through pool.Sizer;
//   - takes its start latency (WithStartLatency) on the fleet's clock,
//     honouring the start's context;
//   - executes after its execute latency (WithExecuteLatency), answering
//     with its ID or a Handler's output (WithHandler);
//   - closes after its close latency (WithCloseLatency) and frees its
//     memory.
//
// Options given to New are every specialist's defaults; options given to
// Add override them for one.
//
// # Faults
//
// Each Specialist takes failures and panics at run time, for its live
// instances as well as the next ones, until Heal: FailStart, PanicStart,
// FailExecute, PanicExecute, FailClose, PanicClose. Its latencies change
// with SetStartLatency, SetExecuteLatency and SetCloseLatency. Injected
// errors wrap ErrInjected unless given; injected panics panic with an error
// wrapping ErrInjected.
//
// # Counters
//
// Counts (per Specialist, and for the Fleet) records starts, calls and
// closes with their errors and panics, what is resident now and at peak
// (from a start's beginning until its Close returns, with the bytes
// held), and Violations of the pool.Instance contract (Execute or Close on
// a closed instance, Close during an Execute), which a correct integration
// never causes.
//
// # Time
//
// A start that sleeps on a mock clock arms a timer from another goroutine
// than the test's, and clock.Mock.Add fires only the timers already armed:
// advance too soon and the start waits for ever, or ends late. The fleet
// knows every wait its fakes arm (Waits, Waiting), so a test need not
// guess:
//
//   - Drive runs the code under test and moves the mock clock through each
//     armed wait until it returns: the simplest way to run a host call
//     that cold-starts specialists;
//   - Advance moves the clock by a duration, stopping at each wait's
//     deadline on the way;
//   - AwaitWaiting blocks until n goroutines are parked on the clock, after
//     which Mock.Add cannot miss them;
//   - Sleep is a wait the fleet knows of, for the host's own delays;
//   - WithWaitHook tells a driver of one's own about every timer armed.
//
// Before each move Drive and Advance let the process's goroutines run until
// every one is parked, which they read from a stack snapshot; so a start
// that is about to arm its timer is never jumped over, and every wait ends
// exactly at its deadline. A goroutine that stays busy (a t.Parallel test
// beside it) defeats that check: they then yield a bounded number of times
// instead, and AwaitWaiting is the exact tool.
//
// None of them polls or sleeps in real time (clock.Mock.Add itself yields
// for a millisecond), so tests stay light under -race. A pool runs its
// maintenance on a ticker of the same mock clock; moving the clock runs it
// too.
//
// Everything is safe for concurrent use; the fleet starts no goroutine
// except the one Drive runs its function on, and only until it returns.
package pooltest
