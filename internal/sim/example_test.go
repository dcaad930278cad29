package sim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/internal/catalog"
	"github.com/bumba/pooling/internal/sim"
	"github.com/bumba/pooling/pool"
)

// A test drives starts on a mock clock: the start hook says when the
// latency timer is armed, and only then is the clock advanced.
func Example() {
	cat, err := catalog.Load()
	if err != nil {
		panic(err)
	}
	clk := clock.NewMock()
	armed := make(chan string, 1)
	fw, err := sim.New(cat,
		sim.WithClock(clk),
		sim.WithStartHook(func(id string) { armed <- id }),
		sim.WithTaskLatency(0),
	)
	if err != nil {
		panic(err)
	}

	started := make(chan *sim.Instance)
	go func() {
		in, err := fw.Start(context.Background(), "react-lead")
		if err != nil {
			panic(err)
		}
		started <- in
	}()
	fmt.Println("armed:", <-armed)
	clk.Add(time.Second) // the catalogue's cold start
	in := <-started

	res, err := in.Execute(context.Background(), pool.Task{Specialist: "react-lead", Command: "implement"})
	fmt.Println(res.Output, err)
	n, bytes := fw.Live()
	fmt.Println(n, bytes>>20, "MiB")
	fmt.Println(in.Close(), fw.Starts("react-lead"), fw.Closes("react-lead"))
	// Output:
	// armed: react-lead
	// react-lead <nil>
	// 1 5 MiB
	// <nil> 1 1
}
