package trace_test

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/internal/trace"
)

// Figures from data/README.md, checked against the files.
func TestEmbeddedAzure2019(t *testing.T) {
	tr, err := trace.Embedded("azure2019", trace.Options{Seed: 1})
	require.NoError(t, err)
	assert.Equal(t, "azure2019", tr.Name)
	assert.Contains(t, tr.Source, "163911a85008446394bb3d7f2ae4695763ad6c05")
	assert.Contains(t, tr.Source, "CC-BY 4.0")
	require.Equal(t, 3_037_902, tr.Len())
	assert.Equal(t, 500, tr.Keys())
	checkSorted(t, tr)

	perKey := map[string]int{}
	groups := map[string]bool{}
	minutes := make([]int, 480)
	for _, r := range tr.All() {
		perKey[r.Key]++
		groups[r.Group] = true
		if r.At < 0 || r.At >= 480*time.Minute {
			t.Fatalf("request %+v outside the 8 hours", r)
		}
		minutes[r.At/time.Minute]++
	}
	assert.Len(t, perKey, 500)
	assert.Len(t, groups, 428, "owners")
	assert.NotContains(t, minutes, 0, "every one of the 480 minutes has invocations")
	assert.Equal(t, 1_915_521, slices.Max(slices.Collect(func(yield func(int) bool) {
		for _, n := range perKey {
			if !yield(n) {
				return
			}
		}
	})), "the hot function")

	// The apps are not in the requests: count them in the file.
	rows := readCSV(t, "data/azure2019/invocations.csv")
	apps := map[string]bool{}
	for _, r := range rows[1:] {
		apps[r[1]] = true
	}
	assert.Len(t, apps, 476)

	// Two functions checked by hand against durations.csv and memory.csv.
	find := func(key string) trace.Request {
		i := slices.IndexFunc(tr.Specialists, func(s trace.Specialist) bool { return s.ID == key })
		require.GreaterOrEqual(t, i, 0, key)
		return tr.Request(slices.Index(tr.Key, int32(i)))
	}
	r := find("6b6c3f35ccaa762d1cebb1c4afc9f45390be2e63a3eb7b837ffc8844f905e497") // durations.csv line 2
	assert.Equal(t, 3*time.Millisecond, r.Duration)
	assert.Equal(t, "b4fd0e6b53b043a7e8a4016389519c41bf73038ee0e5291b7fb64daeb6375629", r.Group)
	r = find("12565e2d8b27017788b2ec7fd23d020f66a2e0c8acb6a8543be0f71edf8602bc") // memory.csv line 2
	assert.Equal(t, int64(198<<20), r.Memory)
	assert.Equal(t, "98f3fe1d01789fc2d8ab1dc9cd9a31d51fcbf1936e36a47526280c95ec0cd944", r.Group)
	assert.Equal(t, time.Second, r.ColdStart)

	t.Run("determinism", func(t *testing.T) {
		if testing.Short() {
			t.Skip("two more reads of 3 M invocations; the small inputs cover determinism too")
		}
		// The same files read from disk (a trailing slash is fine).
		again, err := trace.Open("azure2019", "data/azure2019/", trace.Options{Seed: 1})
		require.NoError(t, err)
		require.Equal(t, tr.Specialists, again.Specialists)
		require.True(t, slices.Equal(tr.At, again.At) && slices.Equal(tr.Key, again.Key), "same seed, same stream")
		assert.Contains(t, again.Source, "read from data/azure2019/")
		other, err := trace.Embedded("azure2019", trace.Options{Seed: 2})
		require.NoError(t, err)
		require.Equal(t, tr.Len(), other.Len())
		assert.False(t, slices.Equal(tr.At, other.At) && slices.Equal(tr.Key, other.Key), "another seed, another order")
		otherMinutes := make([]int, 480)
		for _, at := range other.At {
			otherMinutes[at/time.Minute]++
		}
		assert.Equal(t, minutes, otherMinutes, "same per-minute counts")
	})
}

func TestEmbeddedAzure2021(t *testing.T) {
	tr, err := trace.Embedded("azure2021", trace.Options{Seed: 0})
	require.NoError(t, err)
	assert.Len(t, all(tr), 199)
	assert.Equal(t, 31, tr.Keys())
	assert.Contains(t, tr.Source, "a1df629445ff7aa996ae1cf411dabc5a8c30376f")
	checkSorted(t, tr)
	assert.Equal(t, time.Duration(0), all(tr)[0].At)
	groups := map[string]bool{}
	for _, r := range all(tr) {
		groups[r.Group] = true
	}
	assert.Len(t, groups, 13, "apps")
}

func TestEmbeddedKeys(t *testing.T) {
	tr, err := trace.Embedded("keys", trace.Options{Seed: 0})
	require.NoError(t, err)
	assert.Len(t, all(tr), 76_118)
	assert.Equal(t, 20_484, tr.Keys())
	assert.Contains(t, tr.Source, "headissue GmbH")
	assert.Equal(t, 76_117*time.Second, tr.At[tr.Len()-1])
}

func TestEmbeddedUnknown(t *testing.T) {
	_, err := trace.Embedded("azure2020", trace.Options{Seed: 0})
	assert.ErrorContains(t, err, "azure2019, azure2021, keys, bumba")
}

// The embedded copies carry their provenance and licences.
func TestEmbeddedSourcesInREADME(t *testing.T) {
	readme, err := os.ReadFile("data/README.md")
	require.NoError(t, err)
	for _, want := range []string{
		"vhive-serverless/invitro", "163911a85008446394bb3d7f2ae4695763ad6c05", "a1df629445ff7aa996ae1cf411dabc5a8c30376f",
		"AzureFunctionsDataset2019", "AzureFunctionsInvocationTraceForTwoWeeksJan2021", "CC-BY 4.0",
		"ben-manes/caffeine", "ccef95542a9181182a60f5c6c33d2a0642c73574", "headissue GmbH", "CC BY 4.0",
	} {
		assert.Contains(t, string(readme), want)
	}
	lic, err := os.ReadFile("data/keys/LICENSE.txt")
	require.NoError(t, err)
	assert.Contains(t, string(lic), "Attribution 4.0")
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	return rows
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	write("az/invocations.csv", inv2019)
	write("az/durations.csv", dur2019)
	write("az/memory.csv", mem2019)
	tr, err := trace.Open("azure2019", filepath.Join(dir, "az"), trace.Options{Seed: 3})
	require.NoError(t, err)
	want := read2019(t, inv2019, dur2019, mem2019, trace.Options{Seed: 3})
	assert.Equal(t, all(want), all(tr))
	assert.Contains(t, tr.Source, "read from "+filepath.Join(dir, "az"))

	p := write("a.csv", "app,func,end_timestamp,duration\na,f,1,1\n")
	tr, err = trace.Open("azure2021", p, trace.Options{Seed: 0})
	require.NoError(t, err)
	assert.Len(t, all(tr), 1)

	p = write("k.txt", "1\n2\n1\n")
	tr, err = trace.Open("keys", p, trace.Options{Seed: 0})
	require.NoError(t, err)
	assert.Equal(t, 2, tr.Keys())

	p = write("bad.txt", "1\nx\n")
	_, err = trace.Open("keys", p, trace.Options{Seed: 0})
	require.ErrorIs(t, err, trace.ErrMalformed)
	assert.ErrorContains(t, err, "line 2")

	_, err = trace.Open("azure2019", filepath.Join(dir, "nowhere"), trace.Options{})
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = trace.Open("parquet", p, trace.Options{Seed: 0})
	assert.ErrorContains(t, err, `format "parquet": want one of azure2019, azure2021, keys, arc, csv, bumba, synthetic`)
}

func BenchmarkReadAzure2019Embedded(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		tr, err := trace.Embedded("azure2019", trace.Options{Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		if tr.Len() != 3_037_902 {
			b.Fatal(tr.Len())
		}
	}
}
