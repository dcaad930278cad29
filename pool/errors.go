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
	// ErrNoCapacity is returned when no warm slot can be freed because every
	// warm specialist is executing and the pool cannot wait (see Execute).
	ErrNoCapacity = errors.New("no warm capacity")
)
