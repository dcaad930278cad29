package pool

import "errors"

// Errors returned by the pool; compare with errors.Is.
var (
	// ErrInvalidConfig wraps every error New and OptionsFromEnv return for
	// bad settings or specs.
	ErrInvalidConfig = errors.New("invalid configuration")
	// ErrClosed is returned by Execute after Close.
	ErrClosed = errors.New("pool closed")
	// ErrQueueFull is returned when WithMaxQueue tasks already wait for a
	// specialist to start.
	ErrQueueFull = errors.New("queue full")
	// ErrUnknownSpecialist is returned for a task naming no known specialist.
	ErrUnknownSpecialist = errors.New("unknown specialist")
	// ErrInvalidTask is returned for a task that names neither a
	// specialist nor a department, or names them inconsistently.
	ErrInvalidTask = errors.New("invalid task")
	// ErrUnknownDepartment is returned for a task naming no known department.
	ErrUnknownDepartment = errors.New("unknown department")
	// ErrStartFailed wraps the error (or recovered panic) of a failed start.
	ErrStartFailed = errors.New("specialist start failed")
	// ErrPanic wraps a panic recovered from an instance's Execute.
	ErrPanic = errors.New("specialist panicked")
	// ErrNoCapacity is wrapped, together with the context's error, in what
	// Execute returns when the task's context ends while its specialist's
	// start is waiting for a warm slot because every slot is held by a busy
	// specialist (errors.Is matches both): the task did not time out on a
	// slow start but on a full pool. SpecialistInfo.WaitingForSlot shows
	// such a start.
	ErrNoCapacity = errors.New("no warm capacity")
)
