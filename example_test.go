package pooling_test

import (
	"context"
	"fmt"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/pool"
)

type specialist struct{ id string }

func (s specialist) Execute(_ context.Context, t pool.Task) (pool.Result, error) {
	return pool.Result{Output: s.id + ": " + t.Command}, nil
}
func (specialist) Close() error { return nil }

// A host hands the pool its specialists and sends it tasks; the pool starts
// each specialist when first needed and keeps the valuable ones warm.
func Example() {
	var specs []pool.Spec
	for _, id := range []string{"design-system-lead", "react-lead", "css-architect", "accessibility-tester", "qa-architect"} {
		specs = append(specs, pool.Spec{ID: id, Department: "DESIGN", Memory: 5 << 20,
			Start: func(context.Context) (pool.Instance, error) { return specialist{id}, nil }})
	}
	p, err := pool.New(specs, pool.WithClock(clock.NewMock()), pool.WithWorkflows(pool.Workflow{
		Name: "DESIGN_SYSTEM", Steps: []string{"design-system-lead", "react-lead", "css-architect", "accessibility-tester"},
	}))
	if err != nil {
		panic(err)
	}
	defer p.Close(context.Background())

	res, err := p.Execute(context.Background(), pool.Task{Specialist: "design-system-lead", Command: "design"})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Output, "— warm:", res.Warm)
	st := p.Stats()
	fmt.Printf("%d specialists, at most %d warm, %d started\n", st.Specialists, st.MaxWarm, st.ColdStarts)
	// Output:
	// design-system-lead: design — warm: false
	// 5 specialists, at most 1 warm, 1 started
}
