package trace_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/internal/trace"
)

func TestAzure2021Small(t *testing.T) {
	// Unsorted rows; starts (end − duration) 10, 2, 2, 10, 2 s.
	in := `app,func,end_timestamp,duration
A,f2,10.5,0.5
A,f1,3.25,1.25
B,g1,2.5,0.5
A,f1,12,2
B,g1,2.75,0.75
`
	tr, err := trace.ReadAzure2021(strings.NewReader(in), trace.Options{})
	require.NoError(t, err)
	assert.Equal(t, "azure2021", tr.Name)
	assert.Contains(t, tr.Source, "CC-BY 4.0")
	assert.Equal(t, 3, tr.Keys())
	r := func(at, dur time.Duration, key, group string) trace.Request {
		return trace.Request{At: at, Key: key, Group: group, Memory: 5 << 20, ColdStart: time.Second, Duration: dur}
	}
	assert.Equal(t, []trace.Request{
		// Ties at 0 by key; the two g1 rows in file order.
		r(0, 1250*time.Millisecond, "f1", "A"),
		r(0, 500*time.Millisecond, "g1", "B"),
		r(0, 750*time.Millisecond, "g1", "B"),
		r(8*time.Second, 2*time.Second, "f1", "A"),
		r(8*time.Second, 500*time.Millisecond, "f2", "A"),
	}, all(tr))
}

func TestAzure2021ColumnsAndKeys(t *testing.T) {
	// Columns by name; f under two apps: keys become app/func.
	in := "duration,end_timestamp,func,app,extra\n1,3,f,B,x\n1,1,f,A,y\n"
	tr, err := trace.ReadAzure2021(strings.NewReader(in), trace.Options{ColdStart: 2 * time.Second, Memory: 1 << 30})
	require.NoError(t, err)
	assert.Equal(t, []trace.Request{
		{At: 0, Key: "A/f", Group: "A", Memory: 1 << 30, ColdStart: 2 * time.Second, Duration: time.Second},
		{At: 2 * time.Second, Key: "B/f", Group: "B", Memory: 1 << 30, ColdStart: 2 * time.Second, Duration: time.Second},
	}, all(tr))
	assert.Equal(t, 2, tr.Keys())
}

func TestAzure2021Malformed(t *testing.T) {
	const head = "app,func,end_timestamp,duration\n"
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "line 1: empty file"},
		{"missing column", "app,func,end_timestamp\na,f,1\n", `line 1: bad header: missing column "duration"`},
		{"header only", head, "line 2: no invocation rows"},
		{"non-numeric", head + "a,f,1,0.5\na,f,soon,0.5\n", `line 3: column 3 ("end_timestamp") = "soon": not a finite number`},
		{"negative duration", head + "a,f,1,0.5\na,f,1,0.5\na,f,1,-0.5\n", `line 4: column 4 ("duration") = "-0.5": negative`},
		{"infinite", head + "a,f,+Inf,0.5\n", "line 2: column 3 (\"end_timestamp\") = \"+Inf\": not a finite number"},
		{"field count", head + "a,f,1\n", "line 2: wrong field count: 3 fields, want 4"},
		{"empty app", head + "a,f,1,1\n,f,1,1\n", `line 3: empty column 1 ("app")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := trace.ReadAzure2021(strings.NewReader(tc.in), trace.Options{})
			require.ErrorIs(t, err, trace.ErrMalformed)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := trace.ReadAzure2021(strings.NewReader(head+"a,f,1,1\n"), trace.Options{Memory: -1})
	require.Error(t, err)
	assert.NotErrorIs(t, err, trace.ErrMalformed)
}
