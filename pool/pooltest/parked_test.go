package pooltest

import "testing"

func TestParked(t *testing.T) {
	const me = "goroutine 1 [running]:\nmain.main()\n\n"
	tests := []struct {
		name string
		dump string
		want bool
	}{
		{"alone", me, true},
		{"blocked", me + "goroutine 6 [chan receive]:\nmain.f()\n\ngoroutine 7 [select, 2 minutes]:\nmain.g()\n\ngoroutine 8 [sync.Mutex.Lock]:\nx()\n", true},
		{"sleeping", me + "goroutine 8 [sleep]:\ntime.Sleep(0x1)\n", true},
		{"signal loop", me + "goroutine 5 [syscall]:\nos/signal.signal_recv()\n", true},
		{"runnable", me + "goroutine 7 [runnable]:\nmain.spin()\n", false},
		{"running", me + "goroutine 7 [running]:\nmain.spin()\n", false},
		{"other syscall", me + "goroutine 9 [syscall]:\nsyscall.Syscall(0x1)\n", false},
		{"preempted", me + "goroutine 9 [preempted]:\nmain.f()\n", false},
		{"waiting for the world", me + "goroutine 9 [semacquire]:\nmain.f()\n", false},
		{"assisting the collector", me + "goroutine 9 [GC assist wait]:\nmain.f()\n", false},
		{"durable", me + "goroutine 9 [chan receive (durable)]:\nmain.f()\n", true},
		{"locked", me + "goroutine 9 [chan receive, locked to thread]:\nmain.f()\n", true},
	}
	for _, tt := range tests {
		if got := parked([]byte(tt.dump)); got != tt.want {
			t.Errorf("%s: parked = %v, want %v", tt.name, got, tt.want)
		}
	}
}
