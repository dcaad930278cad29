package pooltest_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/pool"
	"github.com/bumba/pooling/pool/pooltest"
)

// A pool of fakes on a mock clock: Drive runs a task through its cold start.
func Example() {
	clk := clock.NewMock()
	fleet := pooltest.New(clk, pooltest.WithStartLatency(time.Second), pooltest.WithMemory(4<<20))
	p, err := pool.New([]pool.Spec{
		fleet.Spec("api-architect", "BACKEND", pooltest.WithPriority(pool.PriorityHigh)),
		fleet.Spec("react-lead", "FRONTEND"),
	}, pool.WithClock(clk))
	if err != nil {
		panic(err)
	}
	defer func() { _ = fleet.Drive(func() { _ = p.Close(context.Background()) }) }()

	var res pool.Result
	err = fleet.Drive(func() {
		res, err = p.Execute(context.Background(), pool.Task{Specialist: "api-architect", Command: "implement"})
	})
	fmt.Println(res.Output, res.Warm, res.Waited, err)
	c := fleet.Counts()
	fmt.Println("starts:", c.Starts, "resident:", c.Resident, c.ResidentBytes>>20, "MiB")
	// Output:
	// api-architect false 1s <nil>
	// starts: 1 resident: 1 4 MiB
}

// For exact timing of concurrent starts, wait until every one is parked on
// the clock, then move it once.
func ExampleFleet_AwaitWaiting() {
	clk := clock.NewMock()
	fleet := pooltest.New(clk, pooltest.WithStartLatency(3*time.Second))
	ids := []string{"a", "b", "c"}
	for _, id := range ids {
		fleet.Add(id, "ENGINEERING")
	}
	p, err := pool.New(fleet.Specs(), pool.WithClock(clk), pool.WithMaxWarm(3), pool.WithWarmingConcurrency(3))
	if err != nil {
		panic(err)
	}

	results := make(chan pool.Result, len(ids))
	for _, id := range ids {
		go func() {
			res, _ := p.Execute(context.Background(), pool.Task{Specialist: id})
			results <- res
		}()
	}
	if err := fleet.AwaitWaiting(context.Background(), len(ids)); err != nil {
		panic(err)
	}
	fmt.Println("parked:", fleet.Waiting(), "first:", fleet.Waits()[0].Op)
	clk.Add(3 * time.Second)
	for range ids {
		fmt.Println("waited", (<-results).Waited)
	}
	fmt.Println(p.Close(context.Background()), fleet.Counts().Closes)
	// Output:
	// parked: 3 first: start
	// waited 3s
	// waited 3s
	// waited 3s
	// <nil> 3
}

// A start that fails surfaces as the pool's ErrStartFailed; after Heal the
// next task starts the specialist again.
func ExampleSpecialist_FailStart() {
	clk := clock.NewMock()
	fleet := pooltest.New(clk)
	qa := fleet.Add("qa-architect", "QA")
	p, err := pool.New([]pool.Spec{qa.Spec()}, pool.WithClock(clk))
	if err != nil {
		panic(err)
	}
	defer func() { _ = p.Close(context.Background()) }()

	qa.FailStart(errors.New("credentials expired"))
	_, err = p.Execute(context.Background(), pool.Task{Specialist: "qa-architect"})
	fmt.Println(errors.Is(err, pool.ErrStartFailed))

	qa.Heal()
	res, err := p.Execute(context.Background(), pool.Task{Specialist: "qa-architect"})
	fmt.Println(res.Output, err)
	c := qa.Counts()
	fmt.Println("starts:", c.Starts, "failed:", c.StartErrors, "instances:", c.Instances)
	// Output:
	// true
	// qa-architect <nil>
	// starts: 2 failed: 1 instances: 1
}

// Advance moves the clock through a chain of waits: a start, then the call
// it was for.
func ExampleFleet_Advance() {
	clk := clock.NewMock()
	fleet := pooltest.New(clk, pooltest.WithStartLatency(time.Second), pooltest.WithExecuteLatency(500*time.Millisecond))
	designer := fleet.Add("ui-designer", "DESIGN")

	done := make(chan string)
	go func() {
		in, err := designer.Start(context.Background())
		if err != nil {
			panic(err)
		}
		res, _ := in.Execute(context.Background(), pool.Task{Command: "design"})
		_ = in.Close()
		done <- fmt.Sprint(res.Output)
	}()
	if err := fleet.AwaitWaiting(context.Background(), 1); err != nil {
		panic(err)
	}
	if err := fleet.Advance(2 * time.Second); err != nil {
		panic(err)
	}
	fmt.Println(<-done, clk.Now().Sub(time.Unix(0, 0)))
	// Output:
	// ui-designer 2s
}
