package trace_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/internal/trace"
)

func TestKeysSmall(t *testing.T) {
	tr, err := trace.ReadKeys(strings.NewReader("17\n-3\r\n17\n 0042 \n5"), trace.Options{
		Spacing: 10 * time.Millisecond, ColdStart: 2 * time.Second, Memory: 1 << 20,
	})
	require.NoError(t, err)
	r := func(i int, key string) trace.Request {
		return trace.Request{At: time.Duration(i) * 10 * time.Millisecond, Key: key, Group: "keys", Memory: 1 << 20, ColdStart: 2 * time.Second}
	}
	assert.Equal(t, []trace.Request{r(0, "17"), r(1, "-3"), r(2, "17"), r(3, "0042"), r(4, "5")}, all(tr))
	assert.Equal(t, 4, tr.Keys())
	assert.Equal(t, "keys", tr.Name)
	assert.Same(t, unsafeData(all(tr)[0].Key), unsafeData(all(tr)[2].Key), "one string per key")

	tr, err = trace.ReadKeys(strings.NewReader("1\n2\n"), trace.Options{})
	require.NoError(t, err)
	assert.Equal(t, []trace.Request{
		{At: 0, Key: "1", Group: "keys", Memory: 5 << 20, ColdStart: time.Second},
		{At: time.Second, Key: "2", Group: "keys", Memory: 5 << 20, ColdStart: time.Second},
	}, all(tr), "defaults: 1 s apart, 5 MiB, 1 s cold start")
}

func TestKeysMalformed(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "keys: line 1: empty file"},
		{"empty line", "1\n\n2\n", "keys: line 2: empty line"},
		{"blank line", "1\n2\n \r\n", "keys: line 3: empty line"},
		{"not decimal", "1\n2\n3.5\n", `keys: line 3: key "3.5" is not a decimal integer`},
		{"sign only", "-\n", `keys: line 1: key "-" is not a decimal integer`},
		{"word", "1\nabc", `keys: line 2: key "abc" is not a decimal integer`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := trace.ReadKeys(strings.NewReader(tc.in), trace.Options{})
			require.ErrorIs(t, err, trace.ErrMalformed)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	for _, opt := range []trace.Options{{Spacing: -1}, {ColdStart: -1}, {Memory: -1}} {
		_, err := trace.ReadKeys(strings.NewReader("1\n"), opt)
		require.Error(t, err)
		assert.NotErrorIs(t, err, trace.ErrMalformed)
	}
	_, err := trace.ReadKeys(strings.NewReader("1\n2\n3\n"), trace.Options{Spacing: time.Duration(1 << 62)})
	assert.ErrorContains(t, err, "overflow")
}
