package monitor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/monitor"
	"github.com/bumba/pooling/pool"
)

// A deploy keeps the monitor's history: the old process writes a snapshot
// at shutdown, the new one restores it in New. A damaged snapshot is
// refused, never half-read.
func ExampleWithRestore() {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC))
	spec := pool.Spec{ID: "api-architect", Department: "ENGINEERING", Memory: 5 << 20,
		Start: func(context.Context) (pool.Instance, error) { return agent{"api-architect"}, nil }}
	p, err := pool.New([]pool.Spec{spec}, pool.WithClock(clk))
	if err != nil {
		panic(err)
	}
	defer p.Close(ctx)

	old, err := monitor.New(monitor.WithPool(p), monitor.WithClock(clk))
	if err != nil {
		panic(err)
	}
	for range 10 {
		clk.Add(30 * time.Second)
		old.Collect()
	}
	var snap bytes.Buffer // in a host: a file written atomically at shutdown
	if err := old.Snapshot(&snap); err != nil {
		panic(err)
	}

	damaged := bytes.Clone(snap.Bytes())
	damaged[len(damaged)/2] ^= 1
	_, err = monitor.New(monitor.WithPool(p), monitor.WithClock(clk), monitor.WithRestore(bytes.NewReader(damaged)))
	fmt.Println("damaged snapshot refused:", errors.Is(err, monitor.ErrSnapshot))

	m, err := monitor.New(monitor.WithPool(p), monitor.WithClock(clk), monitor.WithRestore(&snap))
	if err != nil {
		panic(err)
	}
	q, err := m.Query(monitor.MetricSpecialists, clk.Now().Add(-time.Hour), clk.Now())
	if err != nil {
		panic(err)
	}
	fmt.Println("samples carried over:", q.Count)
	// Output:
	// damaged snapshot refused: true
	// samples carried over: 10
}
