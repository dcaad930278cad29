package state

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The multi-process tests re-execute the test binary with childEnv set to
// a role; TestMain hands it to runChild.
const (
	childEnv  = "STATE_TEST_CHILD"
	pathEnv   = "STATE_TEST_PATH"
	idEnv     = "STATE_TEST_ID"
	untilEnv  = "STATE_TEST_UNTIL"
	killsEnv  = "STATE_CRASH_KILLS"  // override the crash test's kill count
	secondEnv = "STATE_WRITERS_SECS" // override the two-writer test's length
)

type counter struct {
	N int `json:"n"`
}

func runChild(role string) int {
	path := os.Getenv(pathEnv)
	ctx := context.Background()
	switch role {
	case "writer":
		// Until the deadline: set the own section to the count of
		// acknowledged writes and increment the shared counter, in one
		// read-modify-write. Print the acknowledged count at the end.
		id := os.Getenv(idEnv)
		until, _ := strconv.ParseInt(os.Getenv(untilEnv), 10, 64)
		acked := 0
		// At least one write, however late the process started.
		for acked == 0 || time.Now().UnixNano() < until {
			_, err := UpdateSections(ctx, path, func(s Sections) error {
				var shared counter
				if raw, ok := s["shared"]; ok {
					if err := json.Unmarshal(raw, &shared); err != nil {
						return err
					}
				}
				shared.N++
				s["shared"], _ = json.Marshal(shared)
				s[id], _ = json.Marshal(counter{N: acked + 1})
				return nil
			})
			if err != nil {
				fmt.Fprintln(os.Stderr, "writer:", err)
				return 1
			}
			acked++
		}
		fmt.Printf("acked %d\n", acked)
		return 0
	case "crasher":
		// Forever: save n+1 and acknowledge it on stdout once Save
		// returned. The parent kills it with SIGKILL at a random point.
		s, err := ReadSections(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "crasher:", err)
			return 1
		}
		var c counter
		if raw, ok := s["c"]; ok {
			if err := json.Unmarshal(raw, &c); err != nil {
				return 1
			}
		}
		for n := c.N + 1; ; n++ {
			data, _ := json.Marshal(counter{N: n})
			// A second section, larger, so that a write takes long
			// enough to be interrupted midway.
			pad, _ := json.Marshal(strings.Repeat(strconv.Itoa(n), 2000))
			if _, err := UpdateSections(ctx, path, func(s Sections) error {
				s["c"], s["pad"] = data, pad
				return nil
			}); err != nil {
				fmt.Fprintln(os.Stderr, "crasher:", err)
				return 1
			}
			if _, err := os.Stdout.WriteString(strconv.Itoa(n) + "\n"); err != nil {
				return 1
			}
		}
	}
	fmt.Fprintln(os.Stderr, "unknown child role", role)
	return 2
}

func child(t *testing.T, role, path string, env ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{childEnv + "=" + role, pathEnv + "=" + path}, env...)...)
	cmd.Stderr = os.Stderr
	return cmd
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func sectionN(t *testing.T, s Sections, name string) (int, bool) {
	t.Helper()
	raw, ok := s[name]
	if !ok {
		return 0, false
	}
	var c counter
	require.NoError(t, json.Unmarshal(raw, &c), "section %s", name)
	return c.N, true
}

// Two writer processes read-modify-write one file for ~2 s while this
// process reads it: every read is a valid state file, no section ever
// disappears or goes back, and at the end every acknowledged write of
// both is in the file (the shared counter counts them all).
func TestTwoWriterProcessesAndAReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	until := time.Now().Add(time.Duration(envInt(secondEnv, 2)) * time.Second).UnixNano()
	type result struct {
		acked int
		err   error
	}
	results := make([]chan result, 2)
	for i := range results {
		results[i] = make(chan result, 1)
		cmd := child(t, "writer", path, idEnv+"="+fmt.Sprint("w", i), untilEnv+"="+strconv.FormatInt(until, 10))
		go func(ch chan<- result) {
			out, err := cmd.Output()
			var n int
			if err == nil {
				_, err = fmt.Sscanf(string(out), "acked %d", &n)
			}
			ch <- result{n, err}
		}(results[i])
	}

	reads := 0
	last := map[string]int{}
	var got [2]*result
	for got[0] == nil || got[1] == nil {
		for i, ch := range results {
			select {
			case r := <-ch:
				got[i] = &r
			default:
			}
		}
		s, err := ReadSections(path)
		require.NoError(t, err, "read %d", reads)
		reads++
		for _, name := range []string{"w0", "w1", "shared"} {
			n, ok := sectionN(t, s, name)
			if prev, seen := last[name]; seen {
				require.True(t, ok, "section %s disappeared at read %d", name, reads)
				require.GreaterOrEqual(t, n, prev, "section %s went back", name)
			}
			if ok {
				last[name] = n
			}
		}
	}
	require.NoError(t, got[0].err)
	require.NoError(t, got[1].err)
	final, err := ReadSections(path)
	require.NoError(t, err)
	n0, _ := sectionN(t, final, "w0")
	n1, _ := sectionN(t, final, "w1")
	shared, _ := sectionN(t, final, "shared")
	require.Equal(t, got[0].acked, n0)
	require.Equal(t, got[1].acked, n1)
	require.Equal(t, n0+n1, shared, "no read-modify-write lost another's")
	require.Positive(t, n0)
	require.Positive(t, n1)
	require.Empty(t, temps(t, path))
	t.Logf("two writers: %d + %d acknowledged writes, %d reads, all valid, none lost", n0, n1, reads)
}

// A writer process is killed with SIGKILL at random points, again and
// again; after each kill the file opens and holds the last acknowledged
// state or the one being written when the kill came.
// The kills run in two lanes of their own files, in parallel (most of a
// kill's time is the child's start).
func TestKilledWriterLeavesLastAcknowledgedOrNextState(t *testing.T) {
	kills := envInt(killsEnv, 200)
	for lane := range 2 {
		t.Run(fmt.Sprint("lane", lane), func(t *testing.T) {
			t.Parallel()
			killWriter(t, (kills+1-lane)/2)
		})
	}
}

func killWriter(t *testing.T, kills int) {
	path := filepath.Join(t.TempDir(), "s.json")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	acked := 0
	var next, midWrite int
	for k := 0; k < kills; k++ {
		cmd := child(t, "crasher", path)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		lines := make(chan int, 1024)
		var wg sync.WaitGroup
		wg.Go(func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				n, err := strconv.Atoi(sc.Text())
				if err == nil {
					lines <- n
				}
			}
		})
		// Fault injection, not synchronisation: one kill in ten at a
		// random point after the start (possibly before any write), the
		// others a random 0-3 ms after the first acknowledged write.
		if rng.IntN(10) > 0 {
			if n, ok := <-lines; ok {
				acked = n
			}
		}
		injectDelay(time.Duration(rng.Int64N(int64(3 * time.Millisecond))))
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
		wg.Wait()
		for n := range lines {
			acked = n
		}
		if len(temps(t, path)) > 0 {
			midWrite++
		}
		s, err := ReadSections(path)
		require.NoError(t, err, "after kill %d", k)
		n, _ := sectionN(t, s, "c")
		require.Contains(t, []int{acked, acked + 1}, n, "after kill %d: last acknowledged %d", k, acked)
		if n == acked+1 {
			next++
		}
		acked = n
	}
	_, err := SaveSection(context.Background(), path, "c", []byte(`{"n":0}`))
	require.NoError(t, err)
	require.Empty(t, temps(t, path), "the next write cleared every leftover")
	t.Logf("%d kills: every reopen valid; %d held the unacknowledged next state, %d left a temporary file (killed mid-write); %d writes acknowledged", kills, next, midWrite, acked)
}

// injectDelay waits d; used only to place a kill at a random point.
func injectDelay(d time.Duration) {
	t := time.NewTimer(d)
	<-t.C
}
