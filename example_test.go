package pooling_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

// readmeSections are the README sections whose Go snippets are compiled
// Examples: each ```go block there is a "// readme:begin … // readme:end"
// region of a package's example_test.go, word for word (one tab less).
var readmeSections = []string{
	"## Moving a host to the pool",
	"## Monitoring",
	"## Migrating and rolling back",
}

// TestREADMESnippetsAreCompiledExamples keeps the README's wiring snippets
// from drifting: each is the body of a compiled, run Example.
func TestREADMESnippetsAreCompiledExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	regions := map[string]string{}
	files, err := filepath.Glob("*/example_test.go")
	require.NoError(t, err)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		lines := strings.Split(string(data), "\n")
		for i := 0; i < len(lines); i++ {
			name, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), "// readme:begin ")
			if !ok {
				continue
			}
			var body []string
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "// readme:end"; i++ {
				body = append(body, strings.TrimPrefix(lines[i], "\t"))
			}
			regions[f+": "+name] = strings.Join(body, "\n")
		}
	}
	require.NotEmpty(t, regions)

	var blocks []string
	for _, sec := range readmeSections {
		i := strings.Index(string(readme), sec)
		require.GreaterOrEqual(t, i, 0, "README section %q", sec)
		text := string(readme)[i+len(sec):]
		if j := strings.Index(text, "\n## "); j >= 0 {
			text = text[:j]
		}
		for {
			s := strings.Index(text, "```go\n")
			if s < 0 {
				break
			}
			text = text[s+len("```go\n"):]
			e := strings.Index(text, "\n```")
			require.GreaterOrEqual(t, e, 0, "unterminated block in %q", sec)
			blocks = append(blocks, text[:e])
			text = text[e+4:]
		}
	}
	used := map[string]bool{}
	for _, b := range blocks {
		found := false
		for name, r := range regions {
			if r == b {
				found, used[name] = true, true
			}
		}
		assert.True(t, found, "README snippet is no compiled Example region:\n%s", b)
	}
	for name, r := range regions {
		assert.True(t, used[name], "Example region %s is not in the README:\n%s", name, r)
	}
}
