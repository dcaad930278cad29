package pool_test

import (
	"context"
	"fmt"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/pool"
)

// echo is a specialist instance that answers with its name.
type echo struct{ name string }

func (e echo) Execute(_ context.Context, t pool.Task) (pool.Result, error) {
	return pool.Result{Output: e.name + " did " + t.Command}, nil
}
func (echo) Close() error { return nil }

func Example() {
	spec := func(id, dept string) pool.Spec {
		return pool.Spec{ID: id, Department: dept, Memory: 5 << 20,
			Start: func(context.Context) (pool.Instance, error) { return echo{id}, nil }}
	}
	p, err := pool.New([]pool.Spec{
		spec("api-architect", "BACKEND"),
		spec("react-lead", "FRONTEND"),
		spec("qa-architect", "QUALITY"),
	}, pool.WithMaxWarm(2), pool.WithClock(clock.NewMock()))
	if err != nil {
		panic(err)
	}
	defer p.Close(context.Background())

	ctx := context.Background()
	for _, t := range []pool.Task{
		{Specialist: "api-architect", Command: "implement"},
		{Specialist: "api-architect", Command: "analyze"},
		{Department: "FRONTEND", Command: "design"},
	} {
		res, err := p.Execute(ctx, t)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s (warm: %v)\n", res.Output, res.Warm)
	}
	st := p.Stats()
	fmt.Printf("hits %d of %d, cold starts %d, memory %d of %d MiB (efficiency %.0f%%)\n",
		st.WarmHits, st.Tasks, st.ColdStarts, st.MemoryCurrent>>20, st.MemoryBaseline>>20, 100*st.MemoryEfficiency)
	// Output:
	// api-architect did implement (warm: false)
	// api-architect did analyze (warm: true)
	// react-lead did design (warm: false)
	// hits 1 of 3, cold starts 2, memory 10 of 15 MiB (efficiency 33%)
}
